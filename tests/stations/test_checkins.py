"""Check-in: success, every refusal reason, forgery, rotation, closed stations, replays."""

from __future__ import annotations

import datetime as dt
import math
from urllib.parse import quote

import pytest
from flask import current_app

from server import clock
from server.points.services import set_rule
from server.stations.scenes import make_scene
from server.stations.services import scene_of
from tests.factories import make_station

# Wednesday 2026-11-18 12:00 in Shanghai.
NOON = dt.datetime(2026, 11, 18, 4, 0)


@pytest.fixture(autouse=True)
def _noon():
    clock.freeze(NOON)


@pytest.fixture
def station(units):
    return make_station(units["A"], name="淮北街小哥驿站")


def check_in(client, auth, station_or_scene, lat=None, lng=None, accuracy=15, **headers):
    scene = station_or_scene if isinstance(station_or_scene, str) else scene_of(station_or_scene)
    if lat is None:
        lat = station_or_scene.lat
    if lng is None:
        lng = station_or_scene.lng
    return client.post(
        "/api/v1/checkins",
        json={"scene": scene, "lat": lat, "lng": lng, "accuracy": accuracy},
        headers={**auth, **headers},
    )


def refused(response, status, code):
    body = response.get_json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert body["message"]
    return body


def test_check_in_awards_points_and_shows_the_station(client, login, station):
    rider = login("rider")
    response = check_in(client, rider, station, lat=station.lat + 0.0005)
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["points_awarded"] == 5
    assert body["balance"] == 5
    assert body["checkin"]["status"] == "ok"
    assert 50 < body["checkin"]["distance_m"] < 60
    assert body["station"]["name"] == "淮北街小哥驿站"
    assert body["station"]["services"] == ["rest", "water", "charging"]
    assert "手机充电" in body["station"]["service_names"]
    mine = client.get("/api/v1/me/points", headers=rider).get_json()
    assert (mine["balance"], mine["earned_this_month"], mine["lifetime_earned"]) == (5, 5, 5)
    assert mine["ledger"]["items"][0]["source_type"] == "checkin"
    history = client.get("/api/v1/me/checkins", headers=rider).get_json()
    assert history["total"] == 1 and history["items"][0]["station_name"] == "淮北街小哥驿站"


def test_url_encoded_scene_is_accepted(client, login, station):
    rider = login("rider")
    scene = quote(scene_of(station), safe="")
    response = check_in(client, rider, scene, station.lat, station.lng)
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # forged signature
        lambda s: "s" + "zz" + s[s.index(".") :],  # another station's id, same signature
        lambda s: "hello world",  # not a scene at all
        lambda s: "a" + s[1:],  # an activity scene at the station check-in
        lambda s: s + "x" * 30,  # too long
    ],
)
def test_forged_or_malformed_scenes_are_refused_and_recorded(client, login, station, mangle):
    rider = login("rider")
    bad = mangle(scene_of(station))
    refused(check_in(client, rider, bad, station.lat, station.lng), 400, "checkin.invalid_scene")
    history = client.get("/api/v1/me/checkins", headers=rider).get_json()
    assert history["items"][0]["status"] == "refused"
    assert history["items"][0]["reason"] == "invalid_scene"


def test_a_scene_signed_for_an_unknown_station_is_refused(client, login, station):
    rider = login("rider")
    scene = make_scene("s", 99999, station.qr_secret)
    refused(check_in(client, rider, scene, station.lat, station.lng), 400, "checkin.invalid_scene")


def test_rotating_the_secret_invalidates_old_codes(client, login, station):
    rider = login("rider")
    admin = login("community_admin", "A")
    old = client.get(f"/api/v1/admin/stations/{station.id}", headers=admin).get_json()["qr_scene"]
    assert old == scene_of(station)
    rotated = client.post(f"/api/v1/admin/stations/{station.id}/rotate-qr", headers=admin)
    assert rotated.status_code == 200
    new = rotated.get_json()["qr_scene"]
    assert new != old
    refused(check_in(client, rider, old, station.lat, station.lng), 400, "checkin.invalid_scene")
    assert check_in(client, rider, new, station.lat, station.lng).status_code == 201


def test_inactive_station(client, login, units):
    station = make_station(units["A"], is_active=False)
    refused(check_in(client, login("rider"), station), 400, "checkin.station_inactive")


def test_rider_not_registered_with_a_community(client, station):
    from tests.conftest import login_code

    body = client.post(
        "/api/v1/auth/wechat-login", json={"code": login_code("o_unregistered")}
    ).get_json()
    auth = {"Authorization": f"Bearer {body['token']}"}
    refused(check_in(client, auth, station), 403, "checkin.not_registered")


def test_too_far_says_how_far(client, login, station):
    body = refused(
        check_in(client, login("rider"), station, lat=station.lat + 0.01, lng=station.lng),
        400,
        "checkin.out_of_range",
    )
    assert 1100 <= body["details"]["distance_m"] <= 1125
    assert str(body["details"]["distance_m"]) in body["message"]


def test_poor_accuracy(client, login, station):
    refused(check_in(client, login("rider"), station, accuracy=500), 400, "checkin.poor_accuracy")


def test_an_absurd_accuracy_is_a_poor_accuracy_refusal_the_staff_list_can_show(
    client, login, station
):
    """1e300 is valid JSON: refused as very poor accuracy (recorded, the figure capped), not
    a 500 from a number too big to answer with, and the staff's list shows the attempt."""
    body = refused(
        check_in(client, login("rider"), station, accuracy=1e300), 400, "checkin.poor_accuracy"
    )
    assert body["details"]["accuracy_m"] == 100_000
    assert "约 100000 米" in body["message"]
    listed = client.get("/api/v1/admin/checkins", headers=login("grid_worker", "A"))
    assert listed.status_code == 200
    assert [c["reason"] for c in listed.get_json()["items"]] == ["poor_accuracy"]


def test_a_refusal_never_quotes_the_limit_as_the_reading(client, login, station):
    """150.4 m against a 150 m limit reads 151, not "150" (which is allowed)."""
    limit = float(current_app.config.get("CHECKIN_MAX_ACCURACY_M", 150))
    rider = login("rider")
    body = refused(
        check_in(client, rider, station, accuracy=limit + 0.4), 400, "checkin.poor_accuracy"
    )
    assert (
        body["details"]["accuracy_m"] == math.ceil(limit + 0.4) > body["details"]["max_accuracy_m"]
    )
    assert f"约 {math.ceil(limit + 0.4)} 米" in body["message"]
    # just outside the radius: the distance shown is outside it too
    just_out = station.lat + (station.checkin_radius_m + 0.6) / 111_195
    body = refused(
        check_in(client, rider, station, lat=just_out, lng=station.lng), 400, "checkin.out_of_range"
    )
    assert body["details"]["distance_m"] > station.checkin_radius_m


def test_once_a_day_per_station(client, login, station):
    rider = login("rider")
    assert check_in(client, rider, station).status_code == 201
    refused(check_in(client, rider, station), 409, "checkin.already_checked_in")
    clock.freeze(NOON + dt.timedelta(days=1))
    again = check_in(client, rider, station).get_json()
    assert again["points_awarded"] == 5 and again["balance"] == 10


def test_already_checked_in_survives_a_redis_flush(client, login, station, redis):
    rider = login("rider")
    assert check_in(client, rider, station).status_code == 201
    redis.flushdb()
    refused(check_in(client, rider, station), 409, "checkin.already_checked_in")
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5


def test_a_rescan_after_the_cap_is_a_duplicate_not_a_cap_refusal(client, login, units, db, redis):
    """The cap used up by this very station's award: scanning it again (the day key lost to a
    Redis flush) is "already checked in here", not "today's cap is reached"."""
    set_rule(units["A"].id, "checkin", 5, 5)  # one check-in's worth a day
    db.session.commit()
    station = make_station(units["A"])
    rider = login("rider")
    assert check_in(client, rider, station).status_code == 201
    redis.flushdb()
    refused(check_in(client, rider, station), 409, "checkin.already_checked_in")
    # another station the same day: the cap, as before
    refused(
        check_in(client, rider, make_station(units["A"], name="另一站")),
        400,
        "checkin.daily_cap_reached",
    )
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5


def test_daily_cap_reduces_then_refuses(client, login, units, db):
    set_rule(units["A"].id, "checkin", 5, 7)
    db.session.commit()
    stations = [make_station(units["A"], name=f"驿站{n}") for n in range(3)]
    rider = login("rider")
    first = check_in(client, rider, stations[0]).get_json()
    second = check_in(client, rider, stations[1]).get_json()
    assert (first["points_awarded"], second["points_awarded"]) == (5, 2)
    body = refused(check_in(client, rider, stations[2]), 400, "checkin.daily_cap_reached")
    assert body["details"]["daily_cap"] == 7
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 7


def test_a_check_in_across_midnight_is_of_one_day(client, login, units, db, monkeypatch):
    """A check-in starting at 23:59:59.9 whose award runs after midnight (a lock wait, a slow
    Redis) was keyed on day D (its row, its `<station>:<day>` source, the Redis day key) but
    dated and capped on D+1 (the ledger's `day`, the account's day sums): the next morning's
    first check-in was refused `daily_cap_reached`. The award takes the check-in's moment."""
    from sqlalchemy import select

    from server.points import services as points_services
    from server.points.models import LedgerEntry
    from server.points.services import verify_ledger
    from server.stations.models import CheckIn

    set_rule(units["A"].id, "checkin", 5, 5)  # one check-in's worth a day
    db.session.commit()
    evening, morning = make_station(units["A"], name="甲站"), make_station(units["A"], name="乙站")
    rider = login("rider")
    clock.freeze(dt.datetime(2026, 11, 18, 15, 59, 59, 900000))  # 11-18 23:59:59.9 Shanghai
    after_midnight = dt.datetime(2026, 11, 18, 16, 0, 0, 200000)
    monkeypatch.setattr(points_services, "utcnow", lambda: after_midnight)
    assert check_in(client, rider, evening).status_code == 201
    monkeypatch.undo()

    db.session.expire_all()
    row = db.session.execute(select(CheckIn)).scalar_one()
    entry = db.session.execute(
        select(LedgerEntry).where(LedgerEntry.source_type == "checkin")
    ).scalar_one()
    assert (row.day, entry.source_id.split(":")[1], entry.day) == (
        dt.date(2026, 11, 18),
        "20261118",
        dt.date(2026, 11, 18),
    )
    clock.freeze(dt.datetime(2026, 11, 19, 1, 0))  # 09:00 the next morning
    first = check_in(client, rider, morning)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["points_awarded"] == 5
    assert verify_ledger() == []


def test_rules_inherit_down_the_tree(client, login, units, db):
    set_rule(units["S1"].id, "checkin", 8, None)
    db.session.commit()
    station = make_station(units["A1"])
    assert check_in(client, login("rider"), station).get_json()["points_awarded"] == 8


def test_impossible_travel(client, login, units):
    here = make_station(units["A"], name="甲站")
    there = make_station(units["A"], name="乙站", lat=units["A"].center_lat + 0.02)  # ~2.2 km
    rider = login("rider")
    assert check_in(client, rider, here).status_code == 201
    clock.freeze(NOON + dt.timedelta(seconds=20))
    body = refused(check_in(client, rider, there), 400, "checkin.impossible_travel")
    assert body["message"].startswith("距上次打卡不到 1 分钟却相距 2.2 公里")  # never "0 分钟"
    clock.freeze(NOON + dt.timedelta(minutes=1))
    body = refused(check_in(client, rider, there), 400, "checkin.impossible_travel")
    assert body["details"]["speed_kmh"] > 60
    assert body["message"].startswith("距上次打卡仅 1 分钟却相距 2.2 公里")
    clock.freeze(NOON + dt.timedelta(minutes=10))  # ~13 km/h: a rider can do that
    assert check_in(client, rider, there).status_code == 201


def test_short_hops_are_not_impossible_travel(client, login, units):
    here = make_station(units["A"], name="甲站")
    near = make_station(units["A"], name="丙站", lat=units["A"].center_lat + 0.005)  # ~550 m
    rider = login("rider")
    assert check_in(client, rider, here).status_code == 201
    clock.freeze(NOON + dt.timedelta(seconds=30))
    assert check_in(client, rider, near).status_code == 201


def test_closed_station_records_without_points(client, login, units):
    every_evening = {d: ["18:00-23:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    station = make_station(units["A"], opening_hours=every_evening)
    rider = login("rider")
    body = check_in(client, rider, station).get_json()
    assert body["checkin"]["status"] == "closed"
    assert body["points_awarded"] == 0 and body["balance"] == 0
    assert body["station"]["is_open_now"] is False
    assert "不计积分" in body["message"]
    clock.freeze(NOON + dt.timedelta(hours=7))  # 19:00: open, and the day's reward is still there
    body = check_in(client, rider, station).get_json()
    assert (body["checkin"]["status"], body["points_awarded"]) == ("ok", 5)


def test_rate_limit(client, login, station, app):
    app.config["CHECKIN_RATE_PER_MINUTE"] = 3
    try:
        rider = login("rider")
        for _ in range(3):
            check_in(client, rider, station, lat=station.lat + 0.05)
        refused(check_in(client, rider, station), 429, "checkin.rate_limited")
        refused(check_in(client, rider, station), 429, "checkin.rate_limited")
        clock.freeze(NOON + dt.timedelta(minutes=1))
        assert check_in(client, rider, station).status_code == 201
    finally:
        app.config.pop("CHECKIN_RATE_PER_MINUTE")
    staff = login("grid_worker", "A")
    rows = client.get("/api/v1/admin/checkins?reason=rate_limited", headers=staff).get_json()[
        "items"
    ]
    assert len(rows) == 1  # a burst records its first refusal only


def test_idempotent_replay(client, login, station):
    rider = login("rider")
    first = check_in(client, rider, station, **{"Idempotency-Key": "scan-0001-abc"}).get_json()
    again = check_in(client, rider, station, **{"Idempotency-Key": "scan-0001-abc"}).get_json()
    assert again["checkin"]["id"] == first["checkin"]["id"]
    assert again["replayed"] is True and again["balance"] == 5
    # the same check-in as the first answer showed it (the result page reads its station)
    assert again["checkin"] == first["checkin"]
    assert again["message"] == first["message"] == "打卡成功，获得 5 积分"


def test_a_check_in_key_reused_at_another_station_is_refused(client, login, units, station, redis):
    """Not a retry: answering with the first check-in would show the rider a check-in at a
    station they did not scan. A retry from a few metres further on still replays; so it
    does once Redis has forgotten the key (the stored row answers)."""
    other = make_station(units["A"], name="经三路小哥驿站")
    rider = login("rider")
    key = {"Idempotency-Key": "scan-0003-abc"}
    first = check_in(client, rider, station, **key)
    assert first.status_code == 201
    for _ in range(2):
        body = refused(check_in(client, rider, other, **key), 409, "idempotency.key_reused")
        assert "请求标识已用于另一次打卡" in body["message"]
        redis.flushdb()  # and with Redis knowing nothing of the key
    moved = check_in(client, rider, station, lat=station.lat + 0.0002, **key).get_json()
    assert moved["replayed"] is True and moved["checkin"]["id"] == first.get_json()["checkin"]["id"]
    mine = client.get("/api/v1/me/checkins", headers=rider).get_json()
    assert [c["station_id"] for c in mine["items"]] == [station.id]  # nothing recorded at `other`
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 5


def test_an_export_too_large_is_refused_not_cut_short(client, login, units, monkeypatch):
    """More rows than an export holds: a clear refusal telling staff to narrow the dates,
    not a file silently missing the oldest rows."""
    from server.stations import checkins

    monkeypatch.setattr(checkins, "CSV_MAX_ROWS", 2)
    stations = [make_station(units["A"], name=f"驿站{n}") for n in range(3)]
    for n, place in enumerate(stations):
        clock.freeze(NOON + dt.timedelta(days=n))
        assert check_in(client, login("rider"), place).status_code == 201
    staff = login("community_admin", "A")
    body = refused(
        client.get("/api/v1/admin/checkins?format=csv", headers=staff), 422, "export.too_many_rows"
    )
    assert body["details"]["max_rows"] == 2 and "缩小日期范围" in body["message"]
    fits = client.get("/api/v1/admin/checkins?format=csv&date_from=2026-11-19", headers=staff)
    assert fits.status_code == 200
    assert len(fits.get_data(as_text=True).lstrip("\ufeff").splitlines()) == 3  # title + 2


def test_staff_see_attempts_in_their_subtree_and_export_csv(client, login, units, station):
    rider = login("rider")
    check_in(client, rider, station)
    check_in(client, rider, station, lat=station.lat + 0.01)
    other = make_station(units["C"], name="别处驿站")
    check_in(client, login("rider", "C"), other)
    staff = login("grid_worker", "A")
    page = client.get("/api/v1/admin/checkins", headers=staff).get_json()
    assert page["total"] == 2
    assert {row["status"] for row in page["items"]} == {"ok", "refused"}
    refusals = client.get("/api/v1/admin/checkins?status=refused", headers=staff).get_json()
    assert refusals["items"][0]["reason"] == "out_of_range"
    csv = client.get("/api/v1/admin/checkins?format=csv", headers=staff)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("编号,时间") and len(lines) == 3
    assert "淮北街小哥驿站" in lines[1]


def test_impossible_travel_from_an_older_account_row(client, login, units, db):
    """An account row from before it carried the last check-in: the check-ins are read."""
    from sqlalchemy import update

    from server.points.models import PointsAccount

    here = make_station(units["A"], name="甲站")
    there = make_station(units["A"], name="乙站", lat=units["A"].center_lat + 0.02)  # ~2.2 km
    rider = login("rider")
    assert check_in(client, rider, here).status_code == 201
    db.session.execute(
        update(PointsAccount)
        .where(PointsAccount.user_id == rider.user_id)
        .values(last_checkin_lat=None, last_checkin_lng=None, last_checkin_at=None)
    )
    db.session.commit()
    clock.freeze(NOON + dt.timedelta(minutes=1))
    refused(check_in(client, rider, there), 400, "checkin.impossible_travel")


def test_a_closed_station_check_in_moves_the_rider_too(client, login, units, db):
    from server.points.models import PointsAccount

    every_evening = {d: ["18:00-23:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    closed = make_station(units["A"], name="甲站", opening_hours=every_evening)
    there = make_station(units["A"], name="乙站", lat=units["A"].center_lat + 0.02)  # ~2.2 km
    rider = login("rider")
    assert check_in(client, rider, closed).get_json()["checkin"]["status"] == "closed"
    account = db.session.get(PointsAccount, rider.user_id)
    assert (account.last_checkin_lat, account.last_checkin_at) == (closed.lat, NOON)
    clock.freeze(NOON + dt.timedelta(minutes=1))
    refused(check_in(client, rider, there), 400, "checkin.impossible_travel")


KEY = {"Idempotency-Key": "scan-0002-retry"}


def test_a_retry_is_answered_from_the_first_even_over_the_rate_limit(client, login, station, app):
    app.config["CHECKIN_RATE_PER_MINUTE"] = 1
    try:
        rider = login("rider")
        first = check_in(client, rider, station, **KEY).get_json()
        again = check_in(client, rider, station, **KEY)  # the second attempt this minute
        assert again.status_code == 201, again.get_json()
        assert again.get_json()["replayed"] is True
        assert again.get_json()["checkin"]["id"] == first["checkin"]["id"]
        refused(check_in(client, rider, station), 429, "checkin.rate_limited")  # a new one
    finally:
        app.config.pop("CHECKIN_RATE_PER_MINUTE")


@pytest.mark.parametrize("hours", [0, 7], ids=["closed", "open"])
def test_a_retry_redis_does_not_know_of_still_answers_with_the_first(
    client, login, units, redis, hours
):
    """The markers the first round trip reads were lost (a flush, or the retry came before
    they were written): the stored row still answers, and nothing is written twice."""
    every_evening = {d: ["18:00-23:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    station = make_station(units["A"], opening_hours=every_evening)
    clock.freeze(NOON + dt.timedelta(hours=hours))
    rider = login("rider")
    first = check_in(client, rider, station, **KEY).get_json()
    assert first["checkin"]["status"] == ("closed" if hours == 0 else "ok")
    redis.flushdb()
    again = check_in(client, rider, station, **KEY)
    assert again.status_code == 201, again.get_json()
    body = again.get_json()
    assert body["replayed"] is True and body["checkin"]["id"] == first["checkin"]["id"]
    assert body["balance"] == first["balance"]
    staff = login("grid_worker", "A")
    rows = client.get("/api/v1/admin/checkins", headers=staff).get_json()["items"]
    assert [r["id"] for r in rows] == [first["checkin"]["id"]]  # no second row, no refusal


def test_without_a_token_the_body_is_not_looked_at(client):
    response = client.post("/api/v1/checkins", json={"scene": 5})
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.required")


def test_a_revoked_token_checks_in_nothing_and_is_not_recorded(client, login, station):
    rider = login("rider")
    assert client.post("/api/v1/auth/logout", headers=rider).status_code == 204
    refused(check_in(client, rider, station, **KEY), 401, "auth.token_revoked")
    staff = login("grid_worker", "A")
    assert client.get("/api/v1/admin/checkins", headers=staff).get_json()["items"] == []

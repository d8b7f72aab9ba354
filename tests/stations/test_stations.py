"""Stations: staff management in scope, nearby search, opening hours, QR codes, scenes."""

from __future__ import annotations

import datetime as dt
import io
import zlib

import pytest
from flask import current_app
from PIL import Image

from server import clock
from server.stations.hours import is_open
from server.stations.scenes import WECHAT_SCENE_RE, make_scene, parse_scene, verify_scene
from tests.factories import make_station

NOON = dt.datetime(2026, 11, 18, 4, 0)  # Wednesday 12:00 in Shanghai

STATION = {
    "name": "兴华街暖心驿站",
    "kind": "warm",
    "address": "兴华南街 12 号",
    "lat": 34.7233,
    "lng": 113.6458,
    "services": ["rest", "water", "charging"],
    "opening_hours": {"wed": ["08:00-20:00"], "sat": ["20:00-02:00"]},
    "checkin_radius_m": 150,
}


def test_staff_create_edit_deactivate_in_scope(client, login, units, redis):
    admin = login("community_admin", "A")
    created = client.post(
        "/api/v1/admin/stations", json={**STATION, "org_unit_id": units["A1"].id}, headers=admin
    )
    assert created.status_code == 201, created.get_json()
    station = created.get_json()
    assert station["qr_scene"].startswith("s") and len(station["qr_scene"]) <= 32
    assert station["kind_name"] == "暖心驿站"
    sid = station["id"]
    patched = client.patch(
        f"/api/v1/admin/stations/{sid}", json={"checkin_radius_m": 300}, headers=admin
    )
    assert patched.get_json()["checkin_radius_m"] == 300
    assert patched.get_json()["name"] == STATION["name"]  # untouched fields stay
    other = login("community_admin", "C")
    assert client.get(f"/api/v1/admin/stations/{sid}", headers=other).status_code == 404
    assert (
        client.post(
            "/api/v1/admin/stations", json={**STATION, "org_unit_id": units["C"].id}, headers=admin
        ).status_code
        == 404
    )
    grid = login("grid_worker", "A")
    assert client.get(f"/api/v1/admin/stations/{sid}", headers=grid).status_code == 200
    assert (
        client.patch(f"/api/v1/admin/stations/{sid}", json={"name": "x"}, headers=grid).status_code
        == 403
    )
    listed = client.get("/api/v1/admin/stations", headers=grid).get_json()
    assert listed["total"] == 1
    bad = client.patch(
        f"/api/v1/admin/stations/{sid}", json={"opening_hours": {"wed": ["8-20"]}}, headers=admin
    )
    assert bad.get_json()["code"] == "station.invalid_hours"
    assert client.delete(f"/api/v1/admin/stations/{sid}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/stations/{sid}").status_code == 404
    near = client.get(f"/api/v1/stations/nearby?lat={STATION['lat']}&lng={STATION['lng']}")
    assert near.get_json()["items"] == []


def test_nearby_sorted_by_distance_with_filters(client, units, redis):
    clock.freeze(NOON)
    base = units["A"]
    near = make_station(base, name="近", services=["water"])
    mid = make_station(base, name="中", lat=base.center_lat + 0.005, services=["tyre_pump"])
    make_station(base, name="远", lat=base.center_lat + 0.2)
    make_station(
        base, name="关", lat=base.center_lat + 0.001, opening_hours={"wed": ["18:00-22:00"]}
    )
    make_station(base, name="停", is_active=False)
    url = f"/api/v1/stations/nearby?lat={base.center_lat}&lng={base.center_lng}&radius_m=2000"
    items = client.get(url).get_json()["items"]
    assert [i["name"] for i in items] == ["近", "关", "中"]
    assert items[0]["distance_m"] == 0 and 540 < items[2]["distance_m"] < 570
    assert items[1]["is_open_now"] is False
    assert [i["name"] for i in client.get(url + "&open_now=true").get_json()["items"]] == [
        "近",
        "中",
    ]
    assert [i["id"] for i in client.get(url + "&service=tyre_pump").get_json()["items"]] == [mid.id]
    redis.flushdb()  # the GEO index is rebuilt from the database
    assert client.get(url).get_json()["items"][0]["id"] == near.id
    detail = client.get(f"/api/v1/stations/{near.id}").get_json()
    assert detail["services"] == ["water"] and "qr_scene" not in detail


@pytest.mark.parametrize("filtered_by", ["service", "open_now"])
def test_nearby_filters_read_beyond_the_first_scan_when_it_holds_no_match(
    client, units, monkeypatch, filtered_by
):
    """In a dense street the nearest stations may all lack the service, or all be closed at
    night: the search reads further into the radius instead of answering an empty list."""
    from server.stations import services

    monkeypatch.setattr(services, "NEARBY_SCAN", 4)  # as 300 in a street of 300 shops
    clock.freeze(NOON + dt.timedelta(hours=11))  # 23:00 in Shanghai
    base = units["A"]
    day_hours = {d: ["09:00-21:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    for n in range(10):  # the ten nearest: water only, closed at night
        make_station(
            base, name=f"爱心角{n}", lat=base.center_lat + 0.0001 * n, opening_hours=day_hours
        )
    wanted = make_station(
        base,
        name="24小时打气点",
        lat=base.center_lat + 0.02,  # ≈2.2 km
        services=["tyre_pump"],
        opening_hours=None,  # always open
    )
    query = "service=tyre_pump" if filtered_by == "service" else "open_now=true"
    url = (
        f"/api/v1/stations/nearby?lat={base.center_lat}&lng={base.center_lng}&radius_m=5000&{query}"
    )
    assert [s["id"] for s in client.get(url).get_json()["items"]] == [wanted.id]


def test_a_filter_nothing_matches_reads_no_further_than_the_cap(client, units, monkeypatch):
    """A filter nothing nearby matches (a service nobody offers, open_now at night) must
    not read every station within 50 km on an unauthenticated request."""
    from server.stations import services

    monkeypatch.setattr(services, "NEARBY_SCAN", 2)
    monkeypatch.setattr(services, "NEARBY_SCAN_MAX", 8)
    clock.freeze(NOON)
    base = units["A"]
    for n in range(12):
        make_station(base, name=f"站{n}", lat=base.center_lat + 0.0001 * n)
    counts = []
    real_pick = services._pick

    def counting(found, *args):
        counts.append(len(found))
        return real_pick(found, *args)

    monkeypatch.setattr(services, "_pick", counting)
    url = (
        f"/api/v1/stations/nearby?lat={base.center_lat}&lng={base.center_lng}"
        "&radius_m=5000&service=tyre_pump"
    )
    assert client.get(url).get_json()["items"] == []
    assert counts == [2, 8]  # 2, then 4 × 2 = 8, the cap: not all 12


def test_a_warm_nearby_search_is_one_redis_command(client, units, round_trips):
    clock.freeze(NOON)
    base = units["A"]
    near = make_station(base, name="近")
    far = make_station(base, name="中", lat=base.center_lat + 0.005)
    url = f"/api/v1/stations/nearby?lat={base.center_lat}&lng={base.center_lng}&radius_m=2000"
    assert len(client.get(url).get_json()["items"]) == 2  # index built, catalog loaded
    del round_trips[:]
    items = client.get(url).get_json()["items"]
    assert round_trips == ["EVALSHA"]
    assert [(i["id"], type(i["distance_m"])) for i in items] == [(near.id, int), (far.id, int)]


def test_nearby_converts_the_time_once_and_parses_each_range_once(client, units, monkeypatch):
    """Open-now for every station found is asked at one Shanghai time, converted once per
    search, and a range text is parsed once per process, not per station and request."""
    from server.stations import hours, services

    clock.freeze(NOON)
    base = units["A"]
    for n, ranges in enumerate((["08:00-22:00"], ["20:00-02:00"], ["08:00-22:00"])):
        make_station(
            base,
            name=f"站{n}",
            lat=base.center_lat + 0.001 * n,
            opening_hours={
                day: ranges for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        )
    url = f"/api/v1/stations/nearby?lat={base.center_lat}&lng={base.center_lng}&radius_m=2000"
    assert len(client.get(url).get_json()["items"]) == 3  # index built, catalog loaded
    conversions = []
    real_local = hours.local

    def counting(value):
        conversions.append(value)
        return real_local(value)

    monkeypatch.setattr(services, "local", counting, raising=False)  # (before: not used)
    monkeypatch.setattr(hours, "local", counting)
    parsed = hours.parse_range.cache_info().misses
    items = client.get(url).get_json()["items"]
    assert [i["is_open_now"] for i in items] == [True, False, True]  # NOON: 12:00 in Shanghai
    assert len(conversions) == 1
    assert hours.parse_range.cache_info().misses == parsed  # both texts parsed before


def test_opening_hours_including_overnight():
    hours = {"fri": ["20:00-02:00"], "mon": ["08:00-12:00", "14:00-18:00"], "sun": ["00:00-24:00"]}
    shanghai = dt.timedelta(hours=8)

    def at(y, m, d, hh, mm=0):
        return dt.datetime(y, m, d, hh, mm) - shanghai

    assert is_open(hours, at(2026, 11, 20, 21))  # Friday night
    assert is_open(hours, at(2026, 11, 21, 1, 59))  # Saturday small hours, Friday's range
    assert not is_open(hours, at(2026, 11, 21, 2, 0))
    assert not is_open(hours, at(2026, 11, 21, 21))  # Saturday has no hours
    assert is_open(hours, at(2026, 11, 23, 9)) and not is_open(hours, at(2026, 11, 23, 13))
    assert is_open(hours, at(2026, 11, 22, 23, 59))  # all of Sunday
    assert is_open(None, at(2026, 11, 22, 3))


def test_scenes_are_short_signed_and_bound_to_the_app_secret(app):
    scene = make_scene("s", 123456789, "per-station-secret")
    assert len(scene) <= 32 and WECHAT_SCENE_RE.match(scene)
    assert parse_scene(scene)[:2] == ("s", 123456789)
    assert verify_scene(scene, "per-station-secret")
    assert not verify_scene(scene, "another-secret")
    assert not verify_scene("garbage", "per-station-secret")
    original = current_app.config["SECRET_KEY"]
    current_app.config["SECRET_KEY"] = "a-different-deployment-secret-key-xxxxxxxx"
    try:
        assert not verify_scene(scene, "per-station-secret")  # the DB secret alone is not enough
    finally:
        current_app.config["SECRET_KEY"] = original
    with pytest.raises(Exception) as info:
        parse_scene("s1.%%%")
    assert info.value.code == "scene.invalid"


def test_qrcode_png_through_the_sandbox_and_posters(client, login, units, sandbox):
    station = make_station(units["A"], name="淮北街社区小哥驿站")
    staff = login("grid_worker", "A")
    scene = client.get(f"/api/v1/admin/stations/{station.id}", headers=staff).get_json()["qr_scene"]
    png = client.get(f"/api/v1/admin/stations/{station.id}/qrcode.png", headers=staff)
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.data)).format == "PNG"
    calls = sandbox.calls(path="/wxa/getwxacodeunlimit")
    assert calls and calls[-1]["body"]["scene"] == scene
    # cached: a second download does not call WeChat again
    client.get(f"/api/v1/admin/stations/{station.id}/qrcode.png", headers=staff)
    assert len(sandbox.calls(path="/wxa/getwxacodeunlimit")) == len(calls)
    poster = client.get(
        f"/api/v1/admin/stations/{station.id}/qrcode.png?variant=poster", headers=staff
    )
    assert poster.status_code == 200
    assert Image.open(io.BytesIO(poster.data)).size == (874, 1240)
    pdf = client.get(f"/api/v1/admin/stations/{station.id}/poster.pdf", headers=staff)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-1.4")
    content = pdf.data.split(b"/FlateDecode >>\nstream\n")[1].split(b"\nendstream")[0]
    assert "淮北街".encode("utf-16-be").hex().upper().encode() in zlib.decompress(content)
    outsider = login("grid_worker", "C")
    assert (
        client.get(f"/api/v1/admin/stations/{station.id}/qrcode.png", headers=outsider).status_code
        == 404
    )


def test_demo_seed_is_idempotent(app):
    from server.demo import seed_demo

    first = seed_demo()
    second = seed_demo()
    assert any("stations: 12 (12 new)" in line for line in first)
    assert any("stations: 12 (0 new)" in line for line in second)
    assert any("rewards: 10 (0 new)" in line for line in second)
    assert any('"scene": "s' in line for line in first)


def test_a_deactivated_stations_rewards_are_neither_listed_nor_sold(client, login, units, db):
    from tests.factories import give_points, make_reward

    station = make_station(units["A"])
    reward = make_reward(units["A"], name="充电宝", cost=10, station_id=station.id)
    rider = login("rider")
    give_points(rider.user_id, 100)
    admin = login("community_admin", "A")
    listed = client.get("/api/v1/rewards", headers=rider).get_json()
    assert [r["name"] for r in listed["items"]] == ["充电宝"]
    assert client.delete(f"/api/v1/admin/stations/{station.id}", headers=admin).status_code == 200
    assert client.get("/api/v1/rewards", headers=rider).get_json()["items"] == []
    sold = client.post("/api/v1/redemptions", json={"reward_id": reward.id}, headers=rider)
    assert sold.status_code == 400 and sold.get_json()["code"] == "redemption.reward_inactive"
    assert client.get("/api/v1/me/points", headers=rider).get_json()["balance"] == 100


def test_a_station_moves_only_where_its_rewards_and_level_allow(client, login, units):
    from tests.factories import give_points, make_reward

    street = login("street_admin", "S1")
    station = make_station(units["A"])
    url = f"/api/v1/admin/stations/{station.id}"
    # no such level for a station: refused as on create
    district = client.patch(url, json={"org_unit_id": units["D"].id}, headers=login("admin"))
    assert district.status_code == 422 and district.get_json()["code"] == "station.invalid_unit"
    reward = make_reward(units["A"], cost=10, station_id=station.id)
    moved = client.patch(url, json={"org_unit_id": units["B"].id}, headers=street)
    assert moved.status_code == 409 and moved.get_json()["code"] == "station.has_rewards"
    # within the reward's community (to its grid) is fine
    assert (
        client.patch(url, json={"org_unit_id": units["A1"].id}, headers=street).status_code == 200
    )
    # a voucher still to be collected there holds it too, after its reward is moved off
    rider = login("rider")
    give_points(rider.user_id, 10)
    assert (
        client.post("/api/v1/redemptions", json={"reward_id": reward.id}, headers=rider).status_code
        == 201
    )
    off = client.patch(
        f"/api/v1/admin/rewards/{reward.id}", json={"station_id": None}, headers=street
    )
    assert off.status_code == 200, off.get_json()
    held = client.patch(url, json={"org_unit_id": units["B"].id}, headers=street)
    assert held.status_code == 409


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("contact_phone", "13800138000", True),
        ("contact_phone", "0371-66881234", True),
        ("contact_phone", "+86 138 0013 8000", True),
        ("contact_phone", "0371-6688 1234 转 801", True),
        ("contact_phone", "12345", True),
        ("contact_phone", "", True),  # none
        ("contact_phone", "call me", False),
        ("contact_phone", "javascript:alert(1)", False),
        ("photos", ["https://img.example.gov.cn/station/1.jpg"], True),
        ("photos", ["javascript:alert(1)"], False),
        ("photos", ["http://img.example.gov.cn/1.jpg"], False),  # the mini-program needs https
        ("photos", ["https://img.example.gov.cn/x.jpg"] * 10, False),
    ],
)
def test_what_a_rider_taps_or_sees_is_checked_when_staff_save_it(
    client, login, units, field, value, accepted
):
    admin = login("community_admin", "A")
    body = {
        "org_unit_id": units["A1"].id,
        "name": "驿站",
        "kind": "warm",
        "lat": 34.7233,
        "lng": 113.6458,
    }
    answer = client.post("/api/v1/admin/stations", json={**body, field: value}, headers=admin)
    if accepted:
        assert answer.status_code == 201, answer.get_json()
        assert answer.get_json()[field] == value
    else:
        assert answer.status_code == 422
        assert field in answer.get_json()["details"]["errors"]["json"]


def test_a_code_printed_after_the_build_setting_changes_opens_the_new_build(
    app, client, login, units, sandbox, monkeypatch
):
    """WXACODE_ENV_VERSION: posters printed for a trial build, then for the release, must
    not be the cached trial code (the cache is a week long)."""
    station = make_station(units["A"], name="淮北街社区小哥驿站")
    staff = login("grid_worker", "A")
    url = f"/api/v1/admin/stations/{station.id}/qrcode.png"
    monkeypatch.setitem(app.config, "WXACODE_ENV_VERSION", "trial")
    trial = client.get(url, headers=staff)
    monkeypatch.setitem(app.config, "WXACODE_ENV_VERSION", "release")
    release = client.get(url, headers=staff)
    assert trial.status_code == release.status_code == 200
    asked = [
        call["body"].get("env_version") for call in sandbox.calls(path="/wxa/getwxacodeunlimit")
    ]
    assert asked == ["trial", "release"]
    assert trial.data != release.data
    assert client.get(url, headers=staff).data == release.data  # cached per build
    assert len(sandbox.calls(path="/wxa/getwxacodeunlimit")) == 2

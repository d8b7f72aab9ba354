"""Rankings: earned in the period, ties to whoever got there first, reversals, Redis flush."""

from __future__ import annotations

import datetime as dt

from server import clock
from server.extensions import db as _db
from server.points.services import award_points

T0 = dt.datetime(2026, 11, 18, 2, 0)


def earn(user_id, points, source, at):
    clock.freeze(at)
    award_points(user_id, points, reason="测试", source_type="test", source_id=source)
    _db.session.commit()


def ranking(client, auth, **query):
    params = "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(f"/api/v1/rankings?{params}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_ranks_by_points_earned_with_ties_to_whoever_got_there_first(client, login, redis):
    zhang = login("rider", display_name="张三丰")
    li = login("rider", display_name="李四")
    wang = login("rider", display_name="王五")
    clock.freeze(T0)
    ranking(client, zhang)  # builds the (empty) ranking; later awards update it
    earn(li.user_id, 10, "l1", T0 + dt.timedelta(minutes=1))
    earn(zhang.user_id, 10, "z1", T0 + dt.timedelta(minutes=2))
    earn(wang.user_id, 4, "w1", T0 + dt.timedelta(minutes=3))
    body = ranking(client, wang)
    assert [(i["rank"], i["display_name"], i["points"]) for i in body["items"]] == [
        (1, "李**", 10),
        (2, "张**", 10),
        (3, "王**", 4),
    ]
    assert body["me"] == {"rank": 3, "points": 4, "display_name": "王**"}
    assert "user_id" not in body["items"][0]
    # a rebuild from the ledger agrees, tie included
    redis.flushdb()
    assert [i["display_name"] for i in ranking(client, wang)["items"]] == ["李**", "张**", "王**"]


def test_spending_does_not_change_rank_but_reversals_do(client, login):
    zhang = login("rider", display_name="张三")
    li = login("rider", display_name="李四")
    ranking(client, zhang)
    earn(zhang.user_id, 20, "z", T0)
    earn(li.user_id, 15, "l", T0)
    clock.freeze(T0)
    award_points(zhang.user_id, -5, reason="兑换", source_type="redemption", source_id="X")
    _db.session.commit()
    assert ranking(client, li)["items"][0]["display_name"] == "张**"
    award_points(zhang.user_id, -10, reason="撤销", source_type="adjustment", source_id="1")
    _db.session.commit()
    body = ranking(client, li)
    assert [(i["display_name"], i["points"]) for i in body["items"]] == [("李**", 15), ("张**", 10)]
    award_points(zhang.user_id, -5, reason="撤销", source_type="adjustment", source_id="2")
    _db.session.rollback()  # a rolled-back reversal never reaches Redis
    assert ranking(client, li)["items"][1]["points"] == 10


def test_month_and_all_time_and_street_scope(client, login, units, redis):
    a = login("rider", "A", display_name="赵一")
    b = login("rider", "B", display_name="钱二")
    earn(a.user_id, 30, "a-oct", dt.datetime(2026, 10, 20, 4, 0))
    earn(b.user_id, 5, "b-nov", T0)
    clock.freeze(T0 + dt.timedelta(hours=1))
    month = ranking(client, a, scope="street", period="month")
    assert [(i["display_name"], i["points"]) for i in month["items"]] == [("钱**", 5)]
    assert month["unit_id"] == units["S1"].id
    everything = ranking(client, a, scope="street", period="all")
    assert [(i["display_name"], i["points"]) for i in everything["items"]] == [
        ("赵**", 30),
        ("钱**", 5),
    ]
    community = ranking(client, a, scope="community", period="all")
    assert [i["display_name"] for i in community["items"]] == ["赵**"]
    # kept current incrementally once built, and identical after a flush + rebuild
    earn(b.user_id, 40, "b-nov-2", T0 + dt.timedelta(hours=2))
    before = ranking(client, a, scope="street", period="all")["items"]
    redis.flushdb()
    assert ranking(client, a, scope="street", period="all")["items"] == before
    assert before[0]["display_name"] == "钱**"


def test_top_n_and_the_callers_rank_outside_it(client, login):
    riders = [login("rider", display_name=f"骑手{n}") for n in range(5)]
    for n, rider in enumerate(riders):
        earn(rider.user_id, 10 + n, f"r{n}", T0)
    body = ranking(client, riders[0], top=3)
    assert [i["points"] for i in body["items"]] == [14, 13, 12]
    assert body["me"]["rank"] == 5 and body["total"] == 5


def test_rebuild_cli(app, login, redis):
    rider = login("rider")
    earn(rider.user_id, 10, "x", T0)
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.output
    keys = redis.keys("rk:all:*")
    assert keys


def test_concurrent_first_reads_after_a_flush_rebuild_once(app, login, redis, monkeypatch):
    import threading

    from server.points import rankings

    riders = [login("rider") for _ in range(3)]
    for n, rider in enumerate(riders):
        earn(rider.user_id, 10 + n, f"s{n}", T0)
    redis.flushdb()
    calls = []
    real = rankings.rebuild

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(rankings, "rebuild", counting)
    results = []

    def read(auth):
        with app.test_client() as own:
            results.append(ranking(own, auth, scope="community", period="all"))

    threads = [threading.Thread(target=read, args=(riders[i % 3],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1  # one rebuild, the other readers waited for it
    assert len(results) == 8
    assert all([item["points"] for item in r["items"]] == [12, 11, 10] for r in results)


def test_a_new_display_name_shows_in_the_ranking_within_a_minute(client, login, monkeypatch):
    from server.points import rankings

    zhang = login("rider", display_name="张三")
    clock.freeze(T0)
    earn(zhang.user_id, 10, "z1", T0)
    assert ranking(client, zhang)["items"][0]["display_name"] == "张**"
    assert (
        client.patch("/api/v1/me", json={"display_name": "赵六"}, headers=zhang).status_code == 200
    )
    assert ranking(client, zhang)["me"]["display_name"] == "赵**"  # mine: at once
    assert ranking(client, zhang)["items"][0]["display_name"] == "张**"  # the list: cached
    now = rankings.time.time()
    monkeypatch.setattr(rankings.time, "time", lambda: now + rankings.NAMES_TTL_S + 1)
    assert ranking(client, zhang)["items"][0]["display_name"] == "赵**"


def test_a_ranking_is_one_redis_round_trip_with_the_callers_record(
    client, login, units, round_trips, monkeypatch
):
    from server.auth import principal as principals

    zhang = login("rider", display_name="张三丰")
    li = login("rider", "C", display_name="李四")  # another street
    earn(zhang.user_id, 7, "z1", T0)
    earn(li.user_id, 9, "l1", T0)
    ranking(client, zhang)  # built, names cached
    ranking(client, zhang, scope="street")

    def no_separate_read(user_id):
        raise AssertionError("the principal was read in a round trip of its own")

    monkeypatch.setattr(principals, "get", no_separate_read)
    del round_trips[:]
    body = ranking(client, zhang, scope="community", period="month")
    assert round_trips == ["EVALSHA"]
    assert body["unit_id"] == units["A"].id and body["me"]["rank"] == 1
    assert [(i["display_name"], i["points"], i["is_me"]) for i in body["items"]] == [
        ("张**", 7, True)
    ]
    del round_trips[:]
    body = ranking(client, zhang, scope="street")  # the street from the same record
    assert round_trips == ["EVALSHA"]
    assert body["unit_id"] == units["S1"].id and body["me"]["points"] == 7


def test_a_ranking_read_without_the_callers_record_in_redis(client, login, units, redis):
    zhang = login("rider", display_name="张三丰")
    earn(zhang.user_id, 7, "z1", T0)
    ranking(client, zhang)
    redis.delete(f"auth:p:{zhang.user_id}")  # expired
    body = ranking(client, zhang, scope="street")
    assert body["unit_id"] == units["S1"].id and body["me"]["points"] == 7
    assert redis.exists(f"auth:p:{zhang.user_id}")  # filled from the database
    redis.flushdb()  # neither the record nor the ranking
    body = ranking(client, zhang)
    assert body["unit_id"] == units["A"].id and body["items"][0]["points"] == 7


def test_a_moved_rider_sees_the_new_communitys_ranking_at_once(client, login, units):
    zhang = login("rider", display_name="张三丰")
    earn(zhang.user_id, 7, "z1", T0)
    assert ranking(client, zhang)["unit_id"] == units["A"].id
    moved = client.patch("/api/v1/me", json={"community_id": units["B"].id}, headers=zhang)
    assert moved.status_code == 200
    assert ranking(client, zhang)["unit_id"] == units["B"].id


def test_rankings_refuse_a_revoked_token_and_an_unregistered_caller(client, login):
    zhang = login("rider")
    assert client.post("/api/v1/auth/logout", headers=zhang).status_code == 204
    response = client.get("/api/v1/rankings", headers=zhang)
    assert (response.status_code, response.get_json()["code"]) == (401, "auth.token_revoked")
    from tests.conftest import login_code

    body = client.post("/api/v1/auth/wechat-login", json={"code": login_code("o_new")}).get_json()
    newcomer = {"Authorization": f"Bearer {body['token']}"}
    response = client.get("/api/v1/rankings?scope=street", headers=newcomer)
    assert (response.status_code, response.get_json()["code"]) == (400, "ranking.not_registered")

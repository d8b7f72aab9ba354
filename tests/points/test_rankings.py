"""Rankings: earned in the period, ties to whoever got there first, reversals, Redis flush."""

from __future__ import annotations

import datetime as dt

import pytest

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


def test_staff_read_the_ranking_of_their_unit_or_one_below_it(client, login, units, redis):
    """Staff organise the redemption day for the top of the ranking: a grid worker reads
    their community's, a street admin their street's or one of its communities' (not
    another street's); they are not ranked themselves."""
    a = login("rider", "A", display_name="赵一")
    b = login("rider", "B", display_name="钱二")
    c = login("rider", "C", display_name="孙三")
    earn(a.user_id, 30, "a", T0)
    earn(b.user_id, 20, "b", T0)
    earn(c.user_id, 10, "c", T0)
    clock.freeze(T0 + dt.timedelta(hours=1))

    def names(body):
        return [i["display_name"] for i in body["items"]]

    grid = login("grid_worker", "A1")
    mine = ranking(client, grid)
    assert (mine["unit_id"], names(mine)) == (units["A"].id, ["赵**"])
    assert mine["me"]["rank"] is None and mine["me"]["points"] == 0
    assert names(ranking(client, grid, scope="street")) == ["赵**", "钱**"]  # A's street, S1
    # named by id, what they read without one: their own community and street
    assert names(ranking(client, grid, org_unit_id=units["A"].id)) == ["赵**"]
    assert names(ranking(client, grid, scope="street", org_unit_id=units["S1"].id)) == [
        "赵**",
        "钱**",
    ]
    sibling = client.get(f"/api/v1/rankings?org_unit_id={units['B'].id}", headers=grid)
    assert sibling.status_code == 404  # another community of the street: not theirs

    street = login("street_admin", "S1")
    assert names(ranking(client, street, scope="street")) == ["赵**", "钱**"]
    assert names(ranking(client, street, org_unit_id=units["B"].id)) == ["钱**"]
    response = client.get("/api/v1/rankings", headers=street)  # which of its communities?
    assert (response.status_code, response.get_json()["code"]) == (422, "ranking.unit_required")
    outside = client.get(f"/api/v1/rankings?org_unit_id={units['C'].id}", headers=street)
    assert outside.status_code == 404
    # a rider's org_unit_id changes nothing: their own community
    assert names(ranking(client, a, org_unit_id=units["C"].id)) == ["赵**"]


# --------------------------------------------- awards committed while a ranking is rebuilt


def _award_elsewhere(app, user_id, points, source, *, redis_write_late=False):
    """Commit an award in another app context (its own session, as another request's).

    `redis_write_late`: commit it, but hold back its ranking update (returned) instead of
    sending it after the commit: a request whose after-commit Redis write comes late.
    """
    from server.points import rankings

    with app.app_context():
        award_points(user_id, points, reason="测试", source_type="test", source_id=source)
        if not redis_write_late:
            _db.session.commit()
            return None
        _db.session.info.pop("fengchao_redis_after_commit")
        held = _db.session.info.pop(rankings._PENDING)
        _db.session.commit()
    return held


def _items(body):
    return [(i["display_name"], i["points"]) for i in body["items"]]


def test_awards_committed_while_a_ranking_is_rebuilt_are_counted_once(
    app, client, login, redis, monkeypatch, verify_ledger_cli
):
    from server.points import rankings

    jia = login("rider", display_name="甲一")
    yi = login("rider", display_name="乙二")
    earn(jia.user_id, 5, "j1", T0)
    earn(yi.user_id, 7, "y1", T0)
    clock.freeze(T0 + dt.timedelta(hours=1))
    redis.flushdb()  # the next reads rebuild
    real = rankings._totals
    rebuilds = []

    def ledger_read_with_awards_around_it(unit_id, start, factor, users=None):
        if users is not None:
            return real(unit_id, start, factor, users)
        n = len(rebuilds)
        rebuilds.append(unit_id)
        # committed before the read, its Redis write arriving after it
        held = _award_elsewhere(app, yi.user_id, 1, f"early-{n}", redis_write_late=True)
        taken = real(unit_id, start, factor, users)
        pipe = redis.pipeline(transaction=False)
        rankings.apply_changes(held, pipe)
        pipe.execute()
        # committed after the read, before the ranking is written
        _award_elsewhere(app, yi.user_id, 7, f"late-{n}")
        return taken

    monkeypatch.setattr(rankings, "_totals", ledger_read_with_awards_around_it)
    assert _items(ranking(client, jia, period="month")) == [("乙**", 15), ("甲**", 5)]
    assert _items(ranking(client, jia, period="all")) == [("乙**", 23), ("甲**", 5)]
    month = ranking(client, yi, period="month")
    everything = ranking(client, yi, period="all")
    assert _items(month) == _items(everything) == [("乙**", 23), ("甲**", 5)]
    assert month["me"]["points"] == everything["me"]["points"] == 23
    assert len(rebuilds) == 2
    monkeypatch.undo()
    verify_ledger_cli()
    redis.flushdb()  # a fresh rebuild agrees
    assert ranking(client, yi, period="month") == month
    assert ranking(client, yi, period="all") == everything


def test_an_award_committed_during_rankings_rebuild_of_a_built_ranking_is_kept(
    app, client, login, redis, monkeypatch
):
    from server.points import rankings

    jia = login("rider", display_name="甲一")
    yi = login("rider", display_name="乙二")
    earn(jia.user_id, 5, "j1", T0)
    earn(yi.user_id, 3, "y1", T0)
    clock.freeze(T0 + dt.timedelta(hours=1))
    for period in ("month", "all"):
        assert _items(ranking(client, jia, period=period)) == [("甲**", 5), ("乙**", 3)]
    real = rankings._city_scores
    done = []

    def ledger_read_then_an_award(start, factor):
        taken = real(start, factor)
        _award_elsewhere(app, yi.user_id, 4, f"during-{len(done)}")
        done.append(start)
        return taken

    monkeypatch.setattr(rankings, "_city_scores", ledger_read_then_an_award)
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    assert len(done) == 2  # one ledger read a period, for every ranking
    points = 3 + 4 * len(done)  # an award during each
    month = ranking(client, jia, period="month")
    everything = ranking(client, jia, period="all", scope="street")
    assert _items(month) == [("乙**", points), ("甲**", 5)]
    assert _items(everything) == [("乙**", points), ("甲**", 5)]
    redis.flushdb()
    assert ranking(client, jia, period="month") == month
    assert ranking(client, jia, period="all", scope="street") == everything


# ------------------------------------------------------------ a rider changes community


def _views(client, riders):
    """Every ranking each rider sees: (scope, period, rider) -> (unit, items, me)."""
    seen = {}
    for scope in ("community", "street"):
        for period in ("month", "all"):
            for name, auth in riders.items():
                body = ranking(client, auth, scope=scope, period=period)
                seen[scope, period, name] = (body["unit_id"], _items(body), body["me"])
    return seen


@pytest.mark.parametrize("target", ["B", "C"])  # the same street, another street
def test_a_rider_who_changes_community_is_ranked_there_with_all_their_points(
    client, login, units, redis, monkeypatch, target
):
    import redis as redis_lib

    import server.extensions

    zhang = login("rider", "A", display_name="张三")
    li = login("rider", "A", display_name="李四")  # stays in A
    wang = login("rider", target, display_name="王五")  # already in the target
    earn(zhang.user_id, 30, "z-oct", dt.datetime(2026, 10, 20, 4, 0))
    earn(zhang.user_id, 5, "z-nov", T0)
    earn(li.user_id, 4, "l-nov", T0)
    earn(wang.user_id, 6, "w-nov", T0)
    clock.freeze(T0 + dt.timedelta(hours=1))
    riders = {"zhang": zhang, "li": li, "wang": wang}
    _views(client, riders)  # every ranking built: kept current from here on
    moved = client.patch("/api/v1/me", json={"community_id": units[target].id}, headers=zhang)
    assert moved.status_code == 200
    before = _views(client, riders)
    redis.flushdb()
    assert _views(client, riders) == before  # the same before and after a rebuild

    same_street = target == "B"
    old_street = [("李**", 4)]
    new_month = [("王**", 6), ("张**", 5)]
    new_all = [("张**", 35), ("王**", 6)]
    assert before["community", "month", "li"][1] == [("李**", 4)]
    assert before["community", "all", "li"][1] == [("李**", 4)]
    assert before["community", "month", "wang"][1] == new_month
    assert before["community", "all", "wang"][1] == new_all
    assert before["community", "month", "zhang"][0] == units[target].id
    assert before["community", "month", "zhang"][2]["rank"] == 2
    assert before["community", "month", "zhang"][2]["points"] == 5
    assert before["community", "all", "zhang"][2]["rank"] == 1
    assert before["community", "all", "zhang"][2]["points"] == 35
    if same_street:
        assert before["street", "month", "li"][1] == [("王**", 6), ("张**", 5), ("李**", 4)]
        assert before["street", "all", "li"][1] == [("张**", 35), ("王**", 6), ("李**", 4)]
    else:
        assert before["street", "month", "li"][1] == old_street
        assert before["street", "all", "li"][1] == old_street
        assert before["street", "month", "wang"][1] == new_month
        assert before["street", "all", "wang"][1] == new_all
        assert before["street", "all", "zhang"][0] == units["S2"].id

    # later awards go to the new community's rankings
    earn(zhang.user_id, 2, "z-nov-2", T0 + dt.timedelta(hours=2))
    assert _items(ranking(client, wang, period="month")) == [("张**", 7), ("王**", 6)]

    # moving back while Redis cannot be written still succeeds; a rebuild puts it right
    def unreachable():
        raise redis_lib.ConnectionError("Redis is down")

    monkeypatch.setattr(server.extensions, "get_redis", unreachable)
    moved = client.patch("/api/v1/me", json={"community_id": units["A"].id}, headers=zhang)
    assert moved.status_code == 200
    monkeypatch.undo()
    redis.flushdb()
    assert _items(ranking(client, li, period="all")) == [("张**", 37), ("李**", 4)]
    assert _items(ranking(client, wang, period="all")) == [("王**", 6)]


def test_a_reversal_in_a_later_month_is_carried_not_forgotten(client, login, units, redis):
    """Earned 30 in October, 20 of it reversed in November: November's net is −20 — not
    ranked, shown as 0 earned — and the next awards start from it, before and after a flush
    (the ranking kept current and a rebuild agree)."""
    rider = login("rider", "A", display_name="张三")
    other = login("rider", "A", display_name="李四")
    admin = login("community_admin", "A")
    clock.freeze(dt.datetime(2026, 10, 20, 4, 0))
    award_points(rider.user_id, 30, reason="十月", source_type="test", source_id="oct")
    _db.session.commit()
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    award_points(other.user_id, 1, reason="十一月", source_type="test", source_id="nov-o")
    _db.session.commit()
    url = "/api/v1/rankings?period=month"
    assert [i["display_name"] for i in client.get(url, headers=other).get_json()["items"]] == [
        "李**"
    ]
    grant = {"user_id": rider.user_id, "delta": -20, "reason": "更正十月重复发放"}
    assert (
        client.post("/api/v1/admin/points/adjustments", json=grant, headers=admin).status_code
        == 201
    )

    def seen():
        board = client.get(url, headers=rider).get_json()
        mine = client.get("/api/v1/me/points", headers=rider).get_json()["earned_this_month"]
        return (
            [(i["display_name"], i["points"]) for i in board["items"]],
            board["me"],
            mine,
            board["total"],
        )

    after_reversal = seen()
    assert after_reversal[0] == [("李**", 1)]
    assert after_reversal[1]["rank"] is None and after_reversal[1]["points"] == 0
    assert after_reversal[2] == 0 and after_reversal[3] == 1
    award_points(rider.user_id, 15, reason="十一月", source_type="test", source_id="nov-1")
    _db.session.commit()
    still_below = seen()  # net −5: still not ranked
    assert still_below[0] == [("李**", 1)] and still_below[1]["rank"] is None
    redis.flushdb()
    assert seen() == still_below
    award_points(rider.user_id, 10, reason="十一月", source_type="test", source_id="nov-2")
    _db.session.commit()
    ranked = seen()  # net +5
    assert ranked[0] == [("张**", 5), ("李**", 1)] and ranked[1]["rank"] == 1 and ranked[2] == 5
    redis.flushdb()
    assert seen() == ranked


def test_a_zero_point_entry_does_not_reorder_a_tie_after_a_rebuild(client, login, units, redis):
    """A check-in under a rule set to 0 points writes a 0-point entry: live it moves no one;
    the rebuild from the ledger (after a Redis flush) must not count its time either."""
    from server.points.services import set_rule
    from server.stations.services import scene_of
    from tests.factories import make_station

    clock.freeze(T0)
    zhang = login("rider", "A", display_name="张三")
    li = login("rider", "A", display_name="李四")
    ranking(client, zhang, period="month")  # built
    earn(zhang.user_id, 10, "z", T0)
    earn(li.user_id, 10, "l", T0 + dt.timedelta(minutes=5))
    set_rule(units["A"].id, "checkin", 0, None)
    _db.session.commit()
    station = make_station(units["A"])
    clock.freeze(T0 + dt.timedelta(minutes=10))
    r = client.post(
        "/api/v1/checkins",
        headers=zhang,
        json={"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 15},
    )
    assert r.status_code == 201 and r.get_json()["points_awarded"] == 0, r.get_json()

    def board():
        items = ranking(client, li, period="month")["items"]
        return [(i["display_name"], i["points"]) for i in items]

    live = board()
    assert live == [("张**", 10), ("李**", 10)]  # 张 got there first
    redis.flushdb()
    assert board() == live


# ------------------------------------------ Redis writes that fail, come late or out of order


def _board(client, auth, period="month", scope="community"):
    return _items(ranking(client, auth, period=period, scope=scope))


def _land(redis, held):
    """A held ranking update (see `_award_elsewhere`) reaches Redis now."""
    from server.points import rankings

    pipe = redis.pipeline(transaction=False)
    rankings.apply_changes(held, pipe)
    pipe.execute()


def _periodic_rankings_rebuild():
    """What the scheduler runs (server.PERIODIC_JOBS)."""
    from server import PERIODIC_JOBS
    from server.points import tasks

    assert "server.points.tasks.rebuild_rankings" in dict(PERIODIC_JOBS)
    return tasks.rebuild_rankings()


def test_an_award_whose_ranking_write_failed_is_ranked_after_the_periodic_rebuild(
    client, login, monkeypatch, caplog
):
    """The award commits, its Redis write after the commit fails (a timeout): the built
    rankings miss it — their markers do not expire (all time) or last weeks (month) — until
    the scheduler's periodic rebuild puts them right."""
    import redis as redis_lib

    import server.extensions

    zhang = login("rider", "A", display_name="张三")
    li = login("rider", "A", display_name="李四")
    admin = login("community_admin", "A")
    earn(zhang.user_id, 10, "z1", T0)
    earn(li.user_id, 20, "l1", T0)
    for period in ("month", "all"):
        assert _board(client, zhang, period) == [("李**", 20), ("张**", 10)]  # built

    def unreachable():
        raise redis_lib.TimeoutError("Timeout reading from socket")

    monkeypatch.setattr(server.extensions, "get_redis", unreachable)
    grant = {"user_id": zhang.user_id, "delta": 30, "reason": "补发活动积分"}
    response = client.post("/api/v1/admin/points/adjustments", json=grant, headers=admin)
    assert response.status_code == 201, response.get_json()  # committed
    monkeypatch.undo()
    assert "Redis writes after commit failed" in caplog.text
    assert _board(client, zhang, "all") == [("李**", 20), ("张**", 10)]  # missed

    clock.freeze(T0 + dt.timedelta(minutes=30))
    assert _periodic_rankings_rebuild() == {"rankings": 2 * 5, "members": 2 * 4}
    for period in ("month", "all"):
        for scope in ("community", "street"):
            assert _board(client, li, period, scope) == [("张**", 40), ("李**", 20)]


def test_the_periodic_rebuild_lets_a_run_still_going_finish(login, redis):
    from server.points import tasks

    rider = login("rider")
    earn(rider.user_id, 10, "x", T0)
    redis.set(tasks.REBUILD_RANKINGS_LOCK, "another run", ex=60)
    assert tasks.rebuild_rankings() == {"rankings": 0, "members": 0}
    assert not redis.keys("rk:all:*")
    assert redis.get(tasks.REBUILD_RANKINGS_LOCK) == "another run"  # not released by us
    redis.delete(tasks.REBUILD_RANKINGS_LOCK)
    assert tasks.rebuild_rankings()["rankings"] == 2 * 5  # communities A, B, C; S1, S2
    assert not redis.exists(tasks.REBUILD_RANKINGS_LOCK)


def test_rankings_rebuild_agrees_with_the_rankings_kept_current(
    app, client, login, units, redis, monkeypatch
):
    """`rankings rebuild` reads the ledger once a period for every ranking: each community
    and street gets its own members, as a ranking built on its first read does."""
    from server.points import rankings

    monkeypatch.setattr(rankings, "REBUILD_CHUNK", 2)  # new sets written in several ZADDs
    riders = {
        "zhao": login("rider", "A", display_name="赵一"),
        "qian": login("rider", "A", display_name="钱二"),
        "sun": login("rider", "B", display_name="孙三"),
        "li": login("rider", "C", display_name="李四"),  # another street
    }
    clock.freeze(T0)
    _views(client, riders)  # built, kept current from here on
    earn(riders["zhao"].user_id, 30, "z-oct", dt.datetime(2026, 10, 20, 4, 0))
    for n, name in enumerate(("qian", "sun", "li", "zhao")):
        earn(riders[name].user_id, 5 + n, f"{name}-nov", T0 + dt.timedelta(minutes=n))
    clock.freeze(T0 + dt.timedelta(hours=1))
    live = _views(client, riders)
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 10 rankings (16 entries)" in result.output
    assert _views(client, riders) == live
    redis.flushdb()  # each ranking rebuilt on its own by its first reader
    assert _views(client, riders) == live
    assert live["street", "all", "sun"][1] == [("赵**", 38), ("孙**", 6), ("钱**", 5)]
    assert live["street", "month", "li"][1] == [("李**", 7)]


def test_an_award_whose_write_lands_while_a_rebuild_settles_is_counted_once(
    app, client, login, redis, monkeypatch
):
    """Committed before the rebuild reads the ledger, its Redis write late (a stalled
    process): `rankings rebuild` keeps its logs open REBUILD_SETTLE_S after the read, so a
    write landing within that is reread, not added to the rebuilt count."""
    from server.points import rankings

    jia = login("rider", display_name="甲一")
    earn(jia.user_id, 5, "j1", T0)
    assert _board(client, jia, "all") == [("甲**", 5)]  # built
    held = _award_elsewhere(app, jia.user_id, 3, "j2", redis_write_late=True)
    monkeypatch.setattr(rankings, "REBUILD_SETTLE_S", 5.0)
    waited = []

    def settling(seconds):  # the late write lands while the rebuild waits
        waited.append(seconds)
        if held:
            _land(redis, [held.pop()])

    monkeypatch.setattr(rankings.time, "sleep", settling)
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    monkeypatch.undo()
    if held:  # no wait: it lands after the rebuild
        _land(redis, held)
    assert _board(client, jia, "all") == [("甲**", 8)]  # the ledger: 5 + 3, not 11
    assert len(waited) == 2 and all(0 < s <= 5.0 for s in waited)  # once per period


def test_an_award_whose_write_lands_after_a_rebuild_is_counted_once_after_the_next(
    app, client, login, redis
):
    """A write later than the rebuild's wait lands on the rebuilt ranking, which counted the
    award already: counted twice until the next rebuild (the module's doc)."""
    jia = login("rider", display_name="甲一")
    earn(jia.user_id, 5, "j1", T0)
    assert _board(client, jia, "all") == [("甲**", 5)]
    held = _award_elsewhere(app, jia.user_id, 3, "j2", redis_write_late=True)
    result = app.test_cli_runner().invoke(args=["rankings", "rebuild"])
    assert result.exit_code == 0, result.output
    _land(redis, held)
    assert _board(client, jia, "all") == [("甲**", 11)]  # the window the doc admits
    _periodic_rankings_rebuild()
    assert _board(client, jia, "all") == [("甲**", 8)]


def test_late_writes_of_one_riders_awards_keep_the_latest_time(app, client, login, redis):
    """张's two awards reach Redis in the opposite order to their commits: 张 still reached
    10 after 李 did, so 李 keeps the tie, as a rebuild from the ledger says."""
    zhang = login("rider", display_name="张三")
    li = login("rider", display_name="李四")
    clock.freeze(T0)
    assert _board(client, zhang) == []  # built
    clock.freeze(T0 + dt.timedelta(minutes=1))
    first = _award_elsewhere(app, zhang.user_id, 5, "z1", redis_write_late=True)
    earn(li.user_id, 10, "l1", T0 + dt.timedelta(minutes=2))
    clock.freeze(T0 + dt.timedelta(minutes=3))
    second = _award_elsewhere(app, zhang.user_id, 5, "z2", redis_write_late=True)
    _land(redis, second)
    _land(redis, first)
    live = ranking(client, li)
    assert _items(live) == [("李**", 10), ("张**", 10)]
    redis.flushdb()
    assert ranking(client, li) == live

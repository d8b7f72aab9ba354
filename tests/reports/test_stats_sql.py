"""/admin/stats aggregates in the database: its statements and the rows they bring back do not
grow with the number of work orders; months are Asia/Shanghai months; without date_from the
period is the last 12 calendar months."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Select, event

from server.reports import stats
from server.reports.models import WorkOrder
from tests.reports.conftest import IN_A1, IN_A2, IN_B1

URL = "/api/v1/admin/stats"


def _order_of(client, auth, body):
    detail = client.get(f"/api/v1/reports/{body['report']['id']}", headers=auth).get_json()
    return detail["work_order_id"]


def _file(db, client, login, file_report, team, created, *, where=IN_A2, category="dumping"):
    order_id = _order_of(
        client, team["street"], file_report(login("resident"), where=where, category=category)
    )
    order = db.session.get(WorkOrder, order_id)
    order.created_at = order.report.submitted_at = created
    db.session.commit()
    return order


def _resolve(db, order, hours, stars=None, late=(False, False)):
    order.state = order.report.status = "resolved"
    order.resolved_at = order.created_at + dt.timedelta(hours=hours)
    order.accepted_late, order.resolved_late = late
    order.report.feedback_stars = stars
    db.session.commit()


@pytest.fixture
def measured(db, monkeypatch):
    """measured(call) -> (its response, statements run, most rows one SELECT brought back)."""

    def _measure(call):
        statements: list[str] = []
        rows: list[int] = []
        execute = db.session.execute

        def counting(statement, *args, **kwargs):
            result = execute(statement, *args, **kwargs)
            if not isinstance(statement, Select):
                return result
            frozen = result.freeze()
            rows.append(len(frozen.data))
            return frozen()

        def record(conn, cursor, statement, *args):
            statements.append(statement)

        monkeypatch.setattr(db.session, "execute", counting)
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = call()
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            monkeypatch.undo()
        assert response.status_code == 200, response.get_json()
        return response.get_json(), len(statements), max(rows, default=0)

    return _measure


def test_stats_work_does_not_grow_with_the_orders(
    db, client, login, file_report, team, units, measured
):
    start = dt.datetime(2026, 11, 2, 2, 0)
    for i in range(2):
        _file(db, client, login, file_report, team, start + dt.timedelta(days=i))
    query = f"{URL}?date_from=2026-11-01&date_to=2026-11-30"
    few, few_statements, few_rows = measured(lambda: client.get(query, headers=team["street"]))
    assert few["totals"]["received"] == 2

    for i in range(8):
        order = _file(db, client, login, file_report, team, start + dt.timedelta(days=i))
        if i % 2:
            _resolve(db, order, hours=i, stars=4)
    many, many_statements, many_rows = measured(lambda: client.get(query, headers=team["street"]))
    assert many["totals"]["received"] == 10
    assert many["totals"]["resolved"] == 4 and many["totals"]["rated"] == 4
    assert many_statements == few_statements
    # One row per (unit, category, month) group: here one, however many orders it holds.
    assert many_rows == few_rows


def test_months_are_shanghai_months(db, client, login, file_report, team, units):
    def at(*args):
        return _file(db, client, login, file_report, team, dt.datetime(*args))

    last_of_2025 = at(2025, 12, 31, 15, 30)  # 2025-12-31 23:30 in Shanghai
    first_of_2026 = at(2025, 12, 31, 16, 30)  # 2026-01-01 00:30
    end_of_january = at(2026, 1, 31, 15, 59, 59)  # 2026-01-31 23:59:59
    start_of_february = at(2026, 1, 31, 16, 0)  # 2026-02-01 00:00
    parking = _file(
        db,
        client,
        login,
        file_report,
        team,
        dt.datetime(2026, 1, 31, 16, 0),
        where=IN_B1,
        category="illegal_parking",
    )
    _resolve(db, last_of_2025, hours=2, stars=5)
    _resolve(db, first_of_2026, hours=3, stars=3, late=(False, True))
    _resolve(db, end_of_january, hours=5)
    _resolve(db, start_of_february, hours=7, stars=1)
    _resolve(db, parking, hours=11, stars=4)

    body = client.get(
        f"{URL}?date_from=2025-12-01&date_to=2026-02-28", headers=team["street"]
    ).get_json()
    months = {row["month"]: row for row in body["by_month"]}
    assert list(months) == ["2025-12", "2026-01", "2026-02"]
    assert [months[m]["received"] for m in months] == [1, 2, 2]
    assert months["2025-12"]["avg_handling_hours"] == 2.0
    assert months["2026-01"]["avg_handling_hours"] == 4.0
    assert months["2026-01"]["on_time"] == 1 and months["2026-01"]["on_time_rate"] == 0.5
    assert months["2026-01"]["rated"] == 1 and months["2026-01"]["satisfaction"] == 3.0
    assert months["2026-02"]["avg_handling_hours"] == 9.0
    assert months["2026-02"]["satisfaction"] == 2.5

    categories = {row["code"]: row for row in body["by_category"]}
    assert [row["code"] for row in body["by_category"]] == ["dumping", "illegal_parking"]
    assert categories["dumping"]["received"] == 4 and categories["dumping"]["name"] == "垃圾倾倒"
    assert categories["illegal_parking"]["avg_handling_hours"] == 11.0
    by_unit = {row["unit"]["id"]: row["received"] for row in body["by_unit"]}
    assert by_unit == {units["A"].id: 4, units["B"].id: 1}
    assert body["totals"]["avg_handling_hours"] == round((2 + 3 + 5 + 7 + 11) / 5, 1)

    # The days are Shanghai days too: the last second of January is in, midnight is not.
    january = client.get(
        f"{URL}?date_from=2026-01-01&date_to=2026-01-31", headers=team["street"]
    ).get_json()
    assert [(row["month"], row["received"]) for row in january["by_month"]] == [("2026-01", 2)]


def test_a_community_is_broken_down_into_its_grids(db, client, login, file_report, team, units):
    created = dt.datetime(2026, 6, 1, 4, 0)
    _file(db, client, login, file_report, team, created, where=IN_A1)
    _file(db, client, login, file_report, team, created, where=IN_A2)
    _file(db, client, login, file_report, team, created, where=IN_A2)
    body = client.get(f"{URL}?date_from=2026-06-01", headers=team["admin_a"]).get_json()
    by_unit = {row["unit"]["id"]: row["received"] for row in body["by_unit"]}
    assert by_unit == {units["A1"].id: 1, units["A2"].id: 2}
    # A grid has no children: everything counts under the grid itself.
    grid = client.get(
        f"{URL}?date_from=2026-06-01&unit_id={units['A2'].id}", headers=team["admin_a"]
    ).get_json()
    assert [(row["unit"]["id"], row["received"]) for row in grid["by_unit"]] == [
        (units["A2"].id, 2)
    ]


def test_without_date_from_the_last_twelve_months(
    db, client, login, file_report, team, monkeypatch
):
    monkeypatch.setattr(stats, "local_today", lambda: dt.date(2026, 11, 15))
    _file(db, client, login, file_report, team, dt.datetime(2025, 11, 30, 15, 59))  # Nov 30
    _file(db, client, login, file_report, team, dt.datetime(2025, 11, 30, 16, 0))  # Dec 1st
    _file(db, client, login, file_report, team, dt.datetime(2026, 5, 31, 16, 0))  # Jun 1st

    body = client.get(URL, headers=team["street"]).get_json()
    assert body["date_from"] == "2025-12-01" and body["date_to"] is None
    assert body["totals"]["received"] == 2
    assert [row["month"] for row in body["by_month"]] == ["2025-12", "2026-06"]

    explicit = client.get(f"{URL}?date_from=2025-11-01", headers=team["street"]).get_json()
    assert explicit["date_from"] == "2025-11-01" and explicit["totals"]["received"] == 3

    # Only date_to: the 12 months up to its month.
    until_may = client.get(f"{URL}?date_to=2026-05-31", headers=team["street"]).get_json()
    assert until_may["date_from"] == "2025-06-01" and until_may["date_to"] == "2026-05-31"
    assert until_may["totals"]["received"] == 2


@pytest.mark.parametrize(
    ("date_to", "date_from"),
    [
        (dt.date(2026, 12, 6), dt.date(2026, 1, 1)),
        (dt.date(2026, 1, 31), dt.date(2025, 2, 1)),
        (dt.date(2026, 11, 30), dt.date(2025, 12, 1)),
        (dt.date(2000, 3, 1), dt.date(1999, 4, 1)),
    ],
)
def test_default_date_from(date_to, date_from):
    assert stats.default_date_from(date_to) == date_from


def test_the_default_period_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/v1/admin/stats"]["get"]["parameters"]}
    assert "12" in parameters["date_from"]["description"]

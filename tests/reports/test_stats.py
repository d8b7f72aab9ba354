"""Statistics, CSV export and the staff moderation decision — always within the caller's scope."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from server.reports.models import Report, WorkOrder
from tests.reports.conftest import IN_A1, IN_A2, IN_B1

T0 = dt.datetime(2026, 3, 10, 2, 0)  # UTC


@pytest.fixture(autouse=True)
def _stats_today(monkeypatch):
    """The fixture's orders are of March and April 2026: the statistics' default period (the
    last 12 months) is taken from a day that keeps holding them, whatever today is."""
    from server.reports import stats

    monkeypatch.setattr(stats, "local_today", lambda: dt.date(2026, 6, 15))


def _shape(db, order_id, *, created, resolved=None, state=None, stars=None, late=(False, False)):
    order = db.session.get(WorkOrder, order_id)
    order.created_at = order.report.submitted_at = created
    if resolved is not None:
        order.resolved_at = resolved
    if state:
        order.state = order.report.status = state
    order.accepted_late, order.resolved_late = late
    order.report.feedback_stars = stars
    db.session.commit()


def _order_of(client, auth, body):
    detail = client.get(f"/api/v1/reports/{body['report']['id']}", headers=auth).get_json()
    return detail["work_order_id"]


def _fixture(db, client, login, file_report, team):
    """Four orders in A (two resolved, one late), one in B; one merged in A."""
    reporter = login("resident", "A")
    a = [_order_of(client, team["admin_a"], file_report(reporter, where=IN_A2)) for _ in range(4)]
    b_reporter = login("resident", "B")
    b = _order_of(client, login("street_admin", "S1"), file_report(b_reporter, where=IN_B1))
    _shape(db, a[0], created=T0, resolved=T0 + dt.timedelta(hours=10), state="closed", stars=5)
    _shape(
        db,
        a[1],
        created=T0,
        resolved=T0 + dt.timedelta(hours=30),
        state="resolved",
        stars=2,
        late=(False, True),
    )
    # 2026-03-31 17:00 UTC is already April 1st in Shanghai.
    _shape(db, a[2], created=dt.datetime(2026, 3, 31, 17, 0))
    _shape(db, a[3], created=T0, state="merged")
    _shape(db, b, created=T0, resolved=T0 + dt.timedelta(hours=4), state="resolved", stars=4)
    return a, b


def test_stats_figures_and_breakdowns(db, client, login, file_report, team, units):
    _fixture(db, client, login, file_report, team)
    response = client.get("/api/v1/admin/stats", headers=team["street"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    totals = body["totals"]
    assert totals["received"] == 4  # the merged duplicate is not counted twice
    assert totals["merged"] == 1
    assert totals["resolved"] == 3
    assert totals["on_time"] == 2
    assert totals["on_time_rate"] == round(2 / 3, 4)
    assert totals["avg_handling_hours"] == round((10 + 30 + 4) / 3, 1)
    assert totals["rated"] == 3 and totals["satisfaction"] == round(11 / 3, 2)

    by_unit = {row["unit"]["id"]: row for row in body["by_unit"]}
    assert set(by_unit) == {units["A"].id, units["B"].id}
    assert by_unit[units["A"].id]["received"] == 3
    assert by_unit[units["A"].id]["resolved"] == 2
    assert by_unit[units["B"].id]["on_time_rate"] == 1.0

    months = {row["month"]: row["received"] for row in body["by_month"]}
    assert months == {"2026-03": 3, "2026-04": 1}
    (dumping,) = body["by_category"]
    assert dumping["code"] == "dumping" and dumping["received"] == 4


def test_stats_date_filter_uses_shanghai_days(db, client, login, file_report, team):
    _fixture(db, client, login, file_report, team)
    body = client.get(
        "/api/v1/admin/stats?date_from=2026-04-01&date_to=2026-04-30", headers=team["street"]
    ).get_json()
    assert body["totals"]["received"] == 1
    assert [row["month"] for row in body["by_month"]] == ["2026-04"]


def test_stats_are_scoped_to_the_callers_subtree(db, client, login, file_report, team, units):
    _fixture(db, client, login, file_report, team)
    admin_b = login("community_admin", "B")
    body = client.get("/api/v1/admin/stats", headers=admin_b).get_json()
    assert body["unit"]["id"] == units["B"].id
    assert body["totals"]["received"] == 1
    assert body["totals"]["satisfaction"] == 4.0
    assert all(row["unit"]["id"] != units["A"].id for row in body["by_unit"])
    # A's figures are not reachable by naming A either.
    outside = client.get(f"/api/v1/admin/stats?unit_id={units['A'].id}", headers=admin_b)
    assert outside.status_code == 404
    # The street admin may narrow to A; grid A1 only breaks A down into its grids.
    narrowed = client.get(f"/api/v1/admin/stats?unit_id={units['A'].id}", headers=team["street"])
    assert narrowed.get_json()["totals"]["received"] == 3
    citizen = client.get("/api/v1/admin/stats", headers=login("rider"))
    assert citizen.status_code == 403 and citizen.get_json()["code"] == "auth.staff_only"


def _csv(response):
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_csv_export_with_filters_and_scope(db, client, login, file_report, team):
    a, b = _fixture(db, client, login, file_report, team)
    rows = _csv(client.get("/api/v1/work-orders/export.csv", headers=team["street"]))
    header, data = rows[0], rows[1:]
    assert header[:3] == ["工单编号", "反映时间", "问题类别"]
    assert len(data) == 5
    numbers = {
        db.session.get(WorkOrder, order_id).report.report_no: order_id for order_id in [*a, b]
    }
    assert {row[0] for row in data} == set(numbers)
    first = next(row for row in data if numbers[row[0]] == a[0])
    named = dict(zip(header, first, strict=True))
    assert named["问题类别"] == "垃圾倾倒"
    assert named["当前状态"] == "已回访"
    assert named["处置时长(小时)"] == "10.0"
    assert named["是否按时办结"] == "是"
    assert named["满意度(星)"] == "5"
    assert named["反映时间"].startswith("2026-03-10 10:00")  # +08:00

    resolved = _csv(
        client.get("/api/v1/work-orders/export.csv?state=resolved", headers=team["street"])
    )
    assert len(resolved) == 3  # header + a[1] + b

    admin_b = login("community_admin", "B")
    only_b = _csv(client.get("/api/v1/work-orders/export.csv", headers=admin_b))
    assert [numbers[row[0]] for row in only_b[1:]] == [b]


def test_csv_export_neutralises_formulas(db, client, login, file_report, team):
    file_report(login("resident"), where=IN_A1, description='=HYPERLINK("http://x")')
    rows = _csv(client.get("/api/v1/work-orders/export.csv", headers=team["street"]))
    assert rows[1][3].startswith("'=")


def test_csv_export_too_large_is_refused(db, client, login, file_report, team, monkeypatch):
    from server.reports import stats

    monkeypatch.setattr(stats, "EXPORT_MAX_ROWS", 1)
    for _ in range(2):
        file_report(login("resident"), where=IN_A1)
    refused = client.get("/api/v1/work-orders/export.csv", headers=team["street"])
    assert refused.status_code == 422
    assert refused.get_json()["code"] == "export.too_many_rows"


def test_staff_clear_or_hold_a_report_in_review(db, client, login, file_report, team):
    reporter = login("resident")
    flagged = file_report(reporter, where=IN_A2, description="请核实 [review]")["report"]
    neighbour = login("resident")
    assert client.get(f"/api/v1/reports/{flagged['id']}", headers=neighbour).status_code == 404
    url = f"/api/v1/admin/reports/{flagged['id']}/moderation"

    worker = client.post(url, json={"decision": "approve"}, headers=team["worker_a1"])
    assert worker.status_code == 403
    outsider = client.post(url, json={"decision": "approve"}, headers=login("community_admin", "B"))
    assert outsider.status_code == 404 and outsider.get_json()["code"] == "report.not_found"

    approve = {"decision": "approve", "note": "内容属实"}
    cleared = client.post(url, json=approve, headers=team["admin_a"])
    assert cleared.status_code == 200, cleared.get_json()
    assert db.session.get(Report, flagged["id"]).moderation == "pass"
    assert client.get(f"/api/v1/reports/{flagged['id']}", headers=neighbour).status_code == 200
    again = client.post(url, json={"decision": "hold"}, headers=team["admin_a"])
    assert again.status_code == 409 and again.get_json()["code"] == "report.moderation_decided"

    other = file_report(reporter, where=IN_A2, description="再核实 [review]")["report"]
    held = client.post(
        f"/api/v1/admin/reports/{other['id']}/moderation",
        json={"decision": "hold"},
        headers=team["street"],
    )
    assert held.status_code == 200
    db.session.expire_all()
    assert db.session.get(Report, other["id"]).moderation == "risky"
    assert client.get(f"/api/v1/reports/{other['id']}", headers=neighbour).status_code == 404
    listed = client.get("/api/v1/work-orders?moderation=risky", headers=team["street"]).get_json()
    assert [item["report"]["id"] for item in listed["items"]] == [other["id"]]

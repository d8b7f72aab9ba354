"""The work-order list's cost: a page reads its orders, then the page's photos, units and
assignees once each — the same few statements for 20 orders as for 100 (each order read
them one by one: 77 statements for 20, 382 for 100) — and joins reports only for the
filter on a report column. What an item says is what the order's own page says."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update

from server import clock
from server.extensions import db
from server.reports.models import Report, WorkOrder
from tests.factories import recorded_statements


def _copies(order_ids: list[int], n: int, units) -> None:
    """n more orders like the given ones (their reports copied too), some escalated."""
    reports, orders = Report.__table__, WorkOrder.__table__
    originals = db.session.execute(select(orders).where(orders.c.id.in_(order_ids))).all()
    for i in range(n):
        row = dict(originals[i % len(originals)]._mapping)
        source = select(reports).where(reports.c.id == row["report_id"])
        report = dict(db.session.execute(source).one()._mapping)
        del report["id"]
        report.update(report_no=None, idempotency_key=None)
        report_id = db.session.execute(insert(reports).values(report).returning(reports.c.id))
        del row["id"]
        row["report_id"] = report_id.scalar_one()
        if i % 3 == 0:
            row["escalated_unit_id"] = units["S1"].id
        db.session.execute(insert(orders).values(row))
    db.session.commit()


def _page(client, auth, query: str) -> dict:
    response = client.get(f"/api/v1/work-orders?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _orders(order_in, units) -> None:
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    ids = [order_in("received")[0], order_in("dispatched")[0], order_in("in_progress")[0]]
    _copies(ids, 110, units)


def test_a_page_costs_the_same_few_statements_for_20_and_for_100(client, order_in, team, units):
    _orders(order_in, units)
    admin = team["admin_a"]
    _page(client, admin, "page_size=5")  # the caller's principal cached
    with recorded_statements() as twenty:
        assert len(_page(client, admin, "page_size=20")["items"]) == 20
    with recorded_statements() as hundred:
        assert len(_page(client, admin, "page_size=100")["items"]) == 100
    # count, page; photos, units, assignees once each for the page (and the caller's binding)
    assert len(twenty) == len(hundred), (twenty, hundred)
    assert len(hundred) <= 7, hundred
    assert sum("FROM uploads" in s for s in hundred) == 1


def test_an_item_reads_as_the_order_page_does(client, order_in, team, units):
    _orders(order_in, units)
    for auth in (team["admin_a"], team["worker_a1"], team["street"]):
        items = [
            item for n in (1, 2) for item in _page(client, auth, f"page={n}&page_size=100")["items"]
        ]
        assert items
        if auth is team["street"]:  # sees them all
            assert any(i["assignee"] for i in items) and any(i["escalated_unit"] for i in items)
            assert any(i["report"]["thumb_url"] for i in items)
            assert any(i["allowed_actions"] for i in items)
        for item in items[:20] + items[-20:]:
            detail = client.get(f"/api/v1/work-orders/{item['id']}", headers=auth).get_json()
            detail.pop("report_detail")
            assert item == detail


def test_reports_are_joined_only_for_the_moderation_filter(client, order_in, team, units):
    _orders(order_in, units)
    street = team["street"]
    with recorded_statements() as plain:
        total = _page(client, street, "page_size=5")["total"]
    count = next(s for s in plain if s.startswith("SELECT count(*)"))
    assert "reports" not in count, count
    assert total == 113

    held = db.session.execute(select(WorkOrder.report_id).order_by(WorkOrder.id)).scalars().all()
    db.session.execute(update(Report).values(moderation="pass"))
    db.session.execute(update(Report).where(Report.id.in_(held[:4])).values(moderation="review"))
    db.session.commit()
    with recorded_statements() as filtered:
        page = _page(client, street, "moderation=review&page_size=100")
    count = next(s for s in filtered if s.startswith("SELECT count(*)"))
    assert "JOIN reports" in count
    assert page["total"] == 4
    assert {i["report"]["id"] for i in page["items"]} == set(held[:4])
    assert _page(client, street, "moderation=pass")["total"] == total - 4


def test_before_id_pages_the_orders_past_the_page_depth(client, order_in, team, units):
    _orders(order_in, units)
    street = team["street"]
    ids = db.session.execute(select(WorkOrder.id).order_by(WorkOrder.id.desc())).scalars().all()
    seen, cursor = [], None
    while True:
        query = "page_size=50" + (f"&before_id={cursor}" if cursor else "")
        page = _page(client, street, query)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_before_id"]
        if cursor is None:
            break
    assert seen == ids
    late = _page(client, street, f"before_id={ids[99]}&state=received&page_size=100")
    assert late["items"] and all(i["id"] < ids[99] for i in late["items"])
    assert all(i["state"] == "received" for i in late["items"])

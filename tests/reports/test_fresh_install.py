"""A production install built the documented way (deploy/README.md: `fengchao org-unit add`,
no demo): residents can report from the street's first minute, and once a community has its
boundary (`fengchao org-unit set`, or PATCH /admin/org-units/{id}) its reports and work
orders go to it instead of the street's queue."""

from __future__ import annotations

import json
import uuid

from click.testing import CliRunner
from sqlalchemy import select

from server.org.models import OrgUnit
from server.reports.models import Report, ReportEvent
from tests.factories import box

HERE = (30.27, 120.16)  # far from the test tree: only the units made here are around


def _add(app, *args):
    result = CliRunner().invoke(app.cli, ["org-unit", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _unit(db, code: str) -> OrgUnit:
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()


def _report(client, db, auth, upload, where=HERE) -> Report:
    offered = client.get(
        "/api/v1/report-categories", query_string={"lat": where[0], "lng": where[1]}, headers=auth
    )
    assert offered.status_code == 200 and offered.get_json(), offered.get_json()
    body = {
        "category_id": offered.get_json()[0]["id"],
        "description": "小区门口垃圾堆了三天",
        "lat": where[0],
        "lng": where[1],
        "address": "延安路 1 号",
        "photo_ids": [upload(auth)],
    }
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    response = client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return db.session.get(Report, response.get_json()["report"]["id"])


def _routing(db, report: Report) -> str:
    event = db.session.execute(
        select(ReportEvent).where(
            ReportEvent.report_id == report.id, ReportEvent.action == "submit"
        )
    ).scalar_one()
    return event.data["routing"]


def test_reports_reach_a_community_once_it_has_a_boundary(app, client, db, login, upload, tmp_path):
    _add(app, "add", "D-SC", "上城区", "--level", "district")
    _add(app, "add", "ST-HB", "湖滨街道", "--level", "street", "--parent", "D-SC")
    _add(app, "add", "C-QH", "青年路社区", "--level", "community", "--parent", "ST-HB")
    street, community = _unit(db, "ST-HB"), _unit(db, "C-QH")
    resident = login("resident", community)

    # categories came with the street: the report is taken, in the street's queue
    first = _report(client, db, resident, upload)
    assert (first.org_unit_id, first.routing, _routing(db, first)) == (
        street.id,
        "street",
        "street",
    )
    assert first.category.street_id == street.id

    # the operator gives the community its boundary and centre
    path = tmp_path / "qh.geojson"
    path.write_text(json.dumps(box(*HERE, 0.005)), encoding="utf-8")
    _add(app, "set", "C-QH", "--boundary", str(path), "--center", f"{HERE[0]},{HERE[1]}")

    second = _report(client, db, resident, upload)
    assert (second.org_unit_id, second.routing, _routing(db, second)) == (
        community.id,
        "boundary",
        "boundary",
    )
    assert second.work_order.org_unit_id == community.id
    # the community's own staff see it in their queue
    admin = login("community_admin", community)
    orders = client.get("/api/v1/work-orders", headers=admin).get_json()["items"]
    assert [o["report"]["id"] for o in orders] == [second.id], orders


def test_a_grid_drawn_by_the_street_admin_takes_its_reports(app, client, db, login, upload):
    _add(app, "add", "D-SC", "上城区", "--level", "district")
    _add(app, "add", "ST-HB", "湖滨街道", "--level", "street", "--parent", "D-SC")
    _add(app, "add", "C-QH", "青年路社区", "--level", "community", "--parent", "ST-HB")
    _add(app, "add", "G-QH1", "青年路一网格", "--level", "grid", "--parent", "C-QH")
    grid = _unit(db, "G-QH1")
    resident = login("resident", _unit(db, "C-QH"))
    before = _report(client, db, resident, upload)
    assert before.routing == "street"

    street_admin = login("street_admin", _unit(db, "ST-HB"))
    response = client.patch(
        f"/api/v1/admin/org-units/{grid.id}",
        json={"boundary": box(*HERE, 0.002), "center_lat": HERE[0], "center_lng": HERE[1]},
        headers=street_admin,
    )
    assert response.status_code == 200, response.get_json()

    after = _report(client, db, resident, upload)
    assert (after.org_unit_id, _routing(db, after)) == (grid.id, "boundary")

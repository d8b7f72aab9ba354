"""`fengchao export-community`: a case dispatched into the community comes whole (the
report, its timeline, photos and followers, and the people they name), and JSON columns
are written as JSON.

An operator's export of a community that handled reports filed to the street held
`work_orders 2, reports 0`, without the assignee and the dispatcher in users.csv, and
report_events.data as Python's repr (`{'unit_id': 3, … 'assignee_id': None}`).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile

from click.testing import CliRunner
from sqlalchemy import JSON, select

from server.extensions import db as _db
from tests.factories import make_station
from tests.reports.conftest import IN_B1, OUTSIDE, cats, file_report, upload  # noqa: F401

PHONE = "13812341234"


def _read(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def _export(app, tmp_path, code: str) -> zipfile.ZipFile:
    out = tmp_path / f"{code}.zip"
    result = CliRunner().invoke(app.cli, ["export-community", code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return zipfile.ZipFile(out)


def _ids(archive: zipfile.ZipFile, name: str) -> set[int]:
    return {int(row["id"]) for row in _read(archive, name)}


def _street_case(client, login, units, file_report):  # noqa: F811
    """A report filed to street S1 (outside every community), dispatched by the street to a
    grid worker of A1: (report id, reporter, street admin, worker)."""
    from server.reports.models import WorkOrder

    reporter = login("rider", "B")  # lives in B, reports outside every community
    client.post("/api/v1/me/phone", json={"code": f"sandbox-phone:{PHONE}:1"}, headers=reporter)
    report_id = file_report(reporter, where=OUTSIDE)["report"]["id"]
    street, worker = login("street_admin", "S1"), login("grid_worker", "A1")
    order = _db.session.execute(
        select(WorkOrder).where(WorkOrder.report_id == report_id)
    ).scalar_one()
    assert order.org_unit_id == units["S1"].id
    response = client.post(
        f"/api/v1/work-orders/{order.id}/dispatch",
        json={"assignee_id": worker.user_id, "note": "请尽快处理"},
        headers=street,
    )
    assert response.status_code == 200, response.get_json()
    return report_id, reporter, street, worker


def test_a_report_dispatched_into_the_community_comes_with_its_case_and_people(
    app,
    db,
    client,
    login,
    units,
    file_report,  # noqa: F811
    tmp_path,
):
    from server.reports.models import Report, ReportEvent, ReportFollower, WorkOrder
    from server.uploads.models import Upload

    report_id, reporter, street, worker = _street_case(client, login, units, file_report)
    own = file_report(login("rider", "A"))["report"]["id"]  # filed in A itself
    b_report = file_report(login("rider", "B"), where=IN_B1)["report"]["id"]
    report = db.session.get(Report, report_id)
    assert report.org_unit_id == units["S1"].id  # counted to the street, handled by A1
    order = db.session.execute(select(WorkOrder).where(WorkOrder.report_id == report_id)).scalar()
    assert (order.org_unit_id, order.assignee_id) == (units["A1"].id, worker.user_id)
    assert order.dispatcher_id == street.user_id

    def of(model, *report_ids):
        column = model.report_id if model is not Upload else model.ref_id
        stmt = select(model.id).where(column.in_(report_ids))
        if model is Upload:
            stmt = stmt.where(Upload.ref_type == "report")
        return set(db.session.execute(stmt).scalars())

    with _export(app, tmp_path, "T-A") as archive:
        assert _ids(archive, "reports.csv") == {report_id, own}
        assert _ids(archive, "work_orders.csv") == of(WorkOrder, report_id, own)
        assert _ids(archive, "report_events.csv") == of(ReportEvent, report_id, own)
        assert _ids(archive, "report_followers.csv") == of(ReportFollower, report_id, own)
        photos = _ids(archive, "uploads.csv")
        users = {int(u["id"]): u for u in _read(archive, "users.csv")}
        events = _read(archive, "report_events.csv")
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert of(Upload, report_id, own) and of(Upload, report_id, own) <= photos
    assert not of(Upload, b_report) & photos  # B's photos stay B's
    # the reporter (living in B), the dispatcher (the street's) and the assignee
    assert {reporter.user_id, street.user_id, worker.user_id} <= set(users)
    actors = {int(e["actor_id"]) for e in events if e["actor_id"]}
    assert street.user_id in actors and actors <= set(users)
    assert users[reporter.user_id]["phone_masked"] == "138****1234"
    assert "phone_enc" not in users[reporter.user_id]
    assert PHONE.encode() not in everything

    with _export(app, tmp_path, "T-B") as archive:  # B handled none of it
        assert _ids(archive, "reports.csv") == {b_report}
        assert report_id not in {int(e["report_id"]) for e in _read(archive, "report_events.csv")}
        assert not {street.user_id, worker.user_id} & _ids(archive, "users.csv")
        assert reporter.user_id in _ids(archive, "users.csv")  # B's resident, as before


def test_json_columns_are_written_as_json(
    app,
    db,
    client,
    login,
    units,
    file_report,  # noqa: F811
    tmp_path,
):
    from server.reports.models import ReportEvent

    _street_case(client, login, units, file_report)
    make_station(
        units["A1"], name="甲站", services=["rest", "饮水"], opening_hours={"周一": "08:00-20:00"}
    )
    stored = {e.id: e.data for e in db.session.execute(select(ReportEvent)).scalars()}
    assert any(isinstance(data, dict) and data for data in stored.values())

    json_columns = {
        table.name: [c.name for c in table.columns if isinstance(c.type, JSON)]
        for table in db.metadata.sorted_tables
    }
    cells = 0
    with _export(app, tmp_path, "T-A") as archive:
        for name in archive.namelist():
            for row in _read(archive, name):
                for column in json_columns[name.removesuffix(".csv")]:
                    if row[column]:
                        json.loads(row[column])  # Python's repr ({'a': None}) fails here
                        cells += 1
        events = _read(archive, "report_events.csv")
        stations = _read(archive, "stations.csv")
    assert cells > len(events) // 2
    for event in events:
        data = stored[int(event["id"])]
        assert (json.loads(event["data"]) if event["data"] else None) == data
    assert json.loads(stations[0]["services"]) == ["rest", "饮水"]
    assert '"饮水"' in stations[0]["services"]  # UTF-8, not \\u escapes
    assert stations[0]["opening_hours"] == '{"周一": "08:00-20:00"}'

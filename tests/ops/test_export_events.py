"""`fengchao export-community`: a report's whole timeline, whichever key leads to it.

report_events has two foreign keys to exported tables (report_id -> reports, work_order_id
-> work_orders). `Table.foreign_keys` is a set whose order changes from process to process;
following only the first key met dropped, in about half the runs, every event without a
work order (the reporter's submit, a self-handled report's timeline).
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.reports.conftest import IN_B1, cats, file_report, upload  # noqa: F401

KEYS = ("actor_id", "report_id", "work_order_id")


def _read(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def _export(app, tmp_path, code: str = "T-A") -> zipfile.ZipFile:
    out = tmp_path / f"{code}.zip"
    result = CliRunner().invoke(app.cli, ["export-community", code, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return zipfile.ZipFile(out)


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(None, id="natural"),
        *(pytest.param(o, id="-".join(o)) for o in itertools.permutations(KEYS)),
    ],
)
def test_every_event_of_the_communitys_reports_is_exported_in_any_key_order(
    app,
    db,
    login,
    file_report,  # noqa: F811
    tmp_path,
    monkeypatch,
    order,
):
    from server.reports.models import Report, ReportEvent, ReportFollower

    if order is not None:  # None: the set's own order in this process
        table = ReportEvent.__table__
        by_name = {fk.parent.name: fk for fk in table.foreign_keys}
        assert set(by_name) == set(KEYS)
        monkeypatch.setattr(table, "foreign_keys", [by_name[name] for name in order])
    rider_a, rider_b = login("rider", "A"), login("rider", "B")
    file_report(rider_a)
    file_report(rider_a, self_handled=True)
    file_report(rider_b, where=IN_B1)  # another community: none of its events
    in_a = set(
        db.session.execute(
            select(ReportEvent.id)
            .join(Report, Report.id == ReportEvent.report_id)
            .where(Report.reporter_id == rider_a.user_id)
        ).scalars()
    )
    followers_a = set(
        db.session.execute(
            select(ReportFollower.id)
            .join(Report, Report.id == ReportFollower.report_id)
            .where(Report.reporter_id == rider_a.user_id)
        ).scalars()
    )
    events = db.session.execute(select(ReportEvent)).scalars().all()
    assert any(e.work_order_id is None for e in events if e.id in in_a)  # the case at stake
    assert any(e.work_order_id is not None for e in events if e.id in in_a)
    assert len(events) > len(in_a)  # B's report has a timeline too

    with _export(app, tmp_path) as archive:
        exported = [int(e["id"]) for e in _read(archive, "report_events.csv")]
        followers = _read(archive, "report_followers.csv")
    assert sorted(exported) == sorted(in_a)
    # a table with one key to an exported table (report_followers.report_id) follows it alone
    assert followers_a and {int(f["id"]) for f in followers} == followers_a


def test_an_event_reached_through_its_work_order_alone_is_exported(
    app,
    db,
    units,
    login,
    file_report,  # noqa: F811
    tmp_path,
):
    """Any key to an exported row brings the row: here (made by hand) a report counted to
    community B whose work order is still A's: A's export holds the work order's events."""
    from server.reports.models import Report, ReportEvent, WorkOrder

    rider = login("rider", "A")
    report_id = file_report(rider)["report"]["id"]
    db.session.execute(
        Report.__table__.update().where(Report.id == report_id).values(org_unit_id=units["B"].id)
    )
    db.session.commit()
    order_ids = set(
        db.session.execute(select(WorkOrder.id).where(WorkOrder.report_id == report_id)).scalars()
    )
    events = db.session.execute(select(ReportEvent)).scalars().all()
    through_order = {e.id for e in events if e.work_order_id in order_ids}
    assert order_ids and through_order and len(through_order) < len(events)

    with _export(app, tmp_path) as archive:
        assert not _read(archive, "reports.csv")
        assert {int(o["id"]) for o in _read(archive, "work_orders.csv")} == order_ids
        exported = {int(e["id"]) for e in _read(archive, "report_events.csv")}
    assert exported == through_order
    with _export(app, tmp_path, "T-B") as archive:  # and B's holds the report's whole timeline
        exported_b = {int(e["id"]) for e in _read(archive, "report_events.csv")}
    assert exported_b == {e.id for e in events}

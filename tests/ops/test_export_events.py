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


def test_a_report_and_its_work_order_come_whole_to_either_unit(
    app,
    db,
    units,
    login,
    file_report,  # noqa: F811
    tmp_path,
):
    """A report and its work order are one case: here (made by hand) a report counted to
    community B whose work order is still A's is in both exports, with its whole timeline
    (it was once reached in A's through the work order's events alone, without the report)."""
    from server.reports.models import Report, ReportEvent, WorkOrder

    rider = login("rider", "A")
    report_id = file_report(rider)["report"]["id"]
    other_id = file_report(login("rider", "B"), where=IN_B1)["report"]["id"]  # B's alone
    db.session.execute(
        Report.__table__.update().where(Report.id == report_id).values(org_unit_id=units["B"].id)
    )
    db.session.commit()

    def case(report_ids):
        orders = select(WorkOrder.id).where(WorkOrder.report_id.in_(report_ids))
        events = select(ReportEvent.id).where(ReportEvent.report_id.in_(report_ids))
        return (
            sorted(report_ids),
            set(db.session.execute(orders).scalars()),
            set(db.session.execute(events).scalars()),
        )

    mine = case([report_id])
    assert mine[1] and mine[2]
    for code, expected in (("T-A", mine), ("T-B", case([report_id, other_id]))):
        with _export(app, tmp_path, code) as archive:
            exported = (
                [int(r["id"]) for r in _read(archive, "reports.csv")],
                {int(o["id"]) for o in _read(archive, "work_orders.csv")},
                {int(e["id"]) for e in _read(archive, "report_events.csv")},
            )
        assert exported == expected, code

"""What other domains ask of reports (kept small so they import little)."""

from __future__ import annotations

from server.extensions import db
from server.reports.models import Report, ReportEvent


def report_is_held(ref_type: str, ref_id: int | None) -> bool:
    """True when a report (or the report of a timeline event) is held as risky."""
    if ref_id is None:
        return False
    if ref_type == "report_event":
        event = db.session.get(ReportEvent, ref_id)
        if event is None:
            return False
        ref_id = event.report_id
    report = db.session.get(Report, ref_id)
    return report is not None and report.moderation == "risky"


def photo_flagged(upload) -> None:
    """A report photo was judged review/risky: flag its work order for staff attention."""
    from server.reports.models import WorkOrder

    report_id = upload.ref_id
    if upload.ref_type == "report_event":
        event = db.session.get(ReportEvent, upload.ref_id)
        report_id = event.report_id if event else None
    if report_id is None:
        return
    order = db.session.query(WorkOrder).filter_by(report_id=report_id).one_or_none()
    if order is not None and not order.is_flagged:
        order.is_flagged = True
        order.flag_reason = f"photo_{upload.moderation}"
        db.session.commit()

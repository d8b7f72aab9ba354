"""The activities domain's calls into other domains (points, notifications), in one place.

Imported lazily so each domain loads on its own; every call joins the caller's transaction.
"""

from __future__ import annotations

from typing import Any

ATTENDANCE_RULE = "activity_attendance"
POST_DUTY_RULE = "post_duty"


def award(
    user_id: int,
    delta: int,
    *,
    reason: str,
    source_type: str,
    source_id: int,
    org_unit_id: int | None,
    rule: str | None,
) -> Any:
    """One ledger entry per (user, source); None when it was already awarded."""
    from server.points.services import award_points

    if delta <= 0:
        return None
    return award_points(
        user_id,
        delta,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
        org_unit_id=org_unit_id,
        rule=rule,
    )


def rule_default(org_unit_id: int, code: str) -> int:
    """The points an earning rule gives in a unit (inherited up the tree)."""
    from server.points.services import rule_points

    return int(rule_points(org_unit_id, code) or 0)


def notify_user(user_id: int, kind: str, **kwargs: Any) -> None:
    """An outbox row (subscribe message + in-app inbox) in the caller's transaction."""
    from server.notifications.services import notify

    notify(user_id, kind, **kwargs)

"""The calls this domain makes into points and notifications (each in the caller's transaction)."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def award(
    user_id: int, rule: str, *, org_unit_id: int, source_type: str, source_id: int, reason: str
) -> int:
    """Award the points `rule` gives in this unit, once per (user, source); returns points."""
    from server.points.services import award_points, rule_points

    points = rule_points(org_unit_id, rule)
    if not points or points <= 0:
        return 0
    entry = award_points(
        user_id,
        points,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
        org_unit_id=org_unit_id,
        rule=rule,
    )
    return entry.delta if entry is not None else 0


def notify_user(user_id: int, kind: str, *, title: str, body: str, **extra: Any) -> None:
    from server.notifications.services import notify

    notify(user_id, kind, title=title, body=body, **extra)


def notify_unit(org_unit_id: int, kind: str, *, title: str, body: str, **extra: Any) -> None:
    from server.notifications.services import notify_staff

    notify_staff(org_unit_id, kind, title=title, body=body, **extra)

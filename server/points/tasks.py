"""Periodic points jobs (registered in server.PERIODIC_JOBS)."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def expire_redemptions() -> dict[str, int]:
    """Expire pending redemptions past their deadline (refunding points and stock) and remind
    riders a day before; idempotent and safe on several nodes (conditional updates)."""
    from server.points.redemptions import expire_due, remind_expiring

    reminded = remind_expiring()
    expired = expire_due()
    if expired or reminded:
        log.info("redemptions expired=%s reminded=%s", expired, reminded)
    return {"expired": expired, "reminded": reminded}

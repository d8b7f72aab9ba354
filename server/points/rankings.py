"""Rankings: points earned in a period, per community and per street, in Redis sorted sets.

Redis is derived state. Each (scope unit, period) key is built from the ledger the first
time it is read (or by `fengchao rankings rebuild`, which the scheduler runs every hour),
flagged built by a marker key, and then kept current by awards committed afterwards. After
a Redis flush the markers are gone and the next read rebuilds, so rankings are correct
without Redis persistence.

Who is ranked where: a user is ranked in their *current* community and its street, with
everything they earned in the period, before a move included. That is what a rebuild
counts; a change of community (PATCH /me) moves the user's members after its commit
(`after_commit_move`), so the rankings kept current agree with a rebuild.

A rebuild never loses an award committed while it runs: before reading the ledger it opens
a log (`rk:log:…`) in which every award's update, and every move, records its user; after
writing the new set, it rereads the ledger for the users logged meanwhile and swaps the set
in only when no user was logged since its last reread (`_FINISH`, atomic). Readers read the
old set until then.

What puts a ranking right again: the writes after a commit are best effort
(`redis_after_commit`). One lost (a Redis timeout, a failover) leaves a built ranking short
of that award; one landing after a rebuild that already read its award from the ledger
counts it twice — its process stalled between its commit and its write for longer than the
rebuild kept its log open (`rankings rebuild`: at least REBUILD_SETTLE_S after its ledger
read; a first reader's rebuild: its own duration). The scheduler rebuilds every ranking of
the current month and of all time every hour (`tasks.rebuild_rankings`, one ledger read a
period for the whole city), which repairs both.

Score = points × F + (F − 1 − seconds since the period start of the member's last change):
equal points rank whoever got there first higher (CTFd's rule). Doubles are exact below
2^53, so a member's period points stay below 9 × 10^8 (month) or 9 × 10^5 (all time).
A member whose period net is at or below zero (a reversal in a later period than the
award) stays in the set, so that its next award counts from that net as a rebuild would,
but is never shown: the read takes scores of at least one point.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from typing import Any

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from server.clock import local, local_month_start_utc, utcnow
from server.errors import DomainError, NotFound
from server.extensions import db, get_redis, in_savepoint, redis_after_commit
from server.org.models import LEVELS, OrgUnit

log = logging.getLogger(__name__)

ALL_TIME_EPOCH = dt.datetime(2025, 1, 1)  # naive UTC
FACTOR = {"month": 10**7, "all": 10**10}
_PENDING = "fengchao_rank_updates"

PERIODS = ("month", "all")
MONTH_TTL_S = 3600 * 24 * 62  # a month's ranking is kept a while after it ends, then dropped

# KEYS: triples of (zset, built marker, rebuild log); ARGV: member, delta, then (factor,
# seconds) per triple. A rebuild in progress (its log exists) rereads the member's points
# from the ledger before it swaps its set in; a built set is updated here, its member's
# time the later of the one it had and this award's (as a rebuild takes the latest).
_ADD = """
local member = ARGV[1]
local delta = tonumber(ARGV[2])
for i = 1, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[i + 2]) == 1 then
    redis.call('RPUSH', KEYS[i + 2], member)
  end
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    local j = (i - 1) / 3 * 2
    local factor = tonumber(ARGV[3 + j])
    local secs = tonumber(ARGV[4 + j])
    local current = redis.call('ZSCORE', KEYS[i], member)
    local points = 0
    if current then
      current = tonumber(current)
      points = math.floor(current / factor)
      -- the later of the two times: writes of one user's awards may land out of order
      local had = factor - 1 - (current - points * factor)
      if had > secs then secs = had end
    end
    points = points + delta
    if points ~= 0 then  -- below zero too: a later award starts from the net (as rebuild)
      redis.call('ZADD', KEYS[i], points * factor + (factor - 1 - secs), member)
    else
      redis.call('ZREM', KEYS[i], member)
    end
  end
end
return 1
"""

# KEYS: triples of (zset, built marker, rebuild log); ARGV: member, then its score per
# triple (0: not ranked there). A user's members after a change of community.
_MOVE = """
local member = ARGV[1]
for i = 1, #KEYS, 3 do
  if redis.call('EXISTS', KEYS[i + 2]) == 1 then
    redis.call('RPUSH', KEYS[i + 2], member)
  end
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    local score = ARGV[2 + (i - 1) / 3]
    if tonumber(score) ~= 0 then
      redis.call('ZADD', KEYS[i], score, member)
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


def _log_keys(unit_id: int, period: str, now: dt.datetime | None = None) -> tuple[str, str]:
    """A rebuild's log of the users whose points changed meanwhile, and its builders count."""
    suffix, _ = period_info(period, now)
    return f"rk:log:{suffix}:{unit_id}", f"rk:log:{suffix}:{unit_id}:n"


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
    if in_savepoint(session):
        return
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
            for period in PERIODS:
                keys.extend((*_keys(unit_id, period, at), _log_keys(unit_id, period, at)[0]))
                factor = FACTOR[period]
                args.extend([factor, _secs(at, period_info(period, at)[1], factor)])
        pipe.eval(_ADD, len(keys), *keys, *args)


# ------------------------------------------------------------------- change of community


def after_commit_move(user_id: int, old: int | None, new: int | None) -> None:
    """Move a user whose community changed from `old` to `new`, once the change commits.

    Out of the old community's (and street's) rankings, into the new ones with all the
    points earned in each period: what a rebuild would find. Called in the transaction
    that changes the community (the points are read in it); if Redis cannot be written
    after the commit, the rankings stay as they were until rebuilt (logged).
    """
    from server.org.models import OrgUnit

    if old == new:
        return

    def units(community_id: int | None) -> set[int]:  # the community and its street
        unit = None if community_id is None else db.session.get(OrgUnit, community_id)
        return set() if unit is None else {unit.id} | ({unit.parent_id} - {None})

    leaving, joining = units(old), units(new)
    now = utcnow()
    scores = dict.fromkeys(PERIODS, 0)
    if joining:
        for period in PERIODS:
            _, start = period_info(period, now)
            found = _totals(None, start, FACTOR[period], [user_id])
            scores[period] = found.get(str(user_id), 0)
    if not leaving and not any(scores.values()):
        return  # in no ranking before, none to join
    keys: list[str] = []
    args: list[Any] = [user_id]
    for unit_id in sorted(leaving ^ joining):  # the same street: unchanged there
        for period in PERIODS:
            keys.extend((*_keys(unit_id, period, now), _log_keys(unit_id, period, now)[0]))
            args.append(scores[period] if unit_id in joining else 0)
    if keys:
        redis_after_commit(lambda pipe: pipe.eval(_MOVE, len(keys), *keys, *args))


# -------------------------------------------------------------------------- rebuild


def _members_clause(unit_id: int):
    """Users ranked in a unit: whose home community is the unit or below it."""
    from server.auth.models import User
    from server.org.models import OrgUnit

    path = select(OrgUnit.path).where(OrgUnit.id == unit_id).scalar_subquery()
    inside = select(OrgUnit.id).where(OrgUnit.path.startswith(path))
    return User.community_id.in_(inside)


def _ledger_scores(
    start: dt.datetime, factor: int, *criteria
) -> list[tuple[int, int | None, float]]:
    """(user, community, score) from the ledger: the points each user the criteria select
    earned since `start`, and when they last changed."""
    from server.auth.models import User
    from server.points.models import SPENDING_SOURCES, LedgerEntry

    query = (
        select(
            LedgerEntry.user_id,
            User.community_id,
            func.sum(LedgerEntry.delta),
            func.max(LedgerEntry.created_at),
        )
        .join(User, User.id == LedgerEntry.user_id)
        .where(
            LedgerEntry.source_type.not_in(SPENDING_SOURCES),
            LedgerEntry.delta != 0,  # as live: a 0-point entry moves no one's time
            LedgerEntry.created_at >= start,
            *criteria,
        )
        .group_by(LedgerEntry.user_id, User.community_id)
    )
    return [
        (uid, community, int(points) * factor + (factor - 1 - _secs(at, start, factor)))
        for uid, community, points, at in db.session.execute(query).all()
        if points  # below zero too (a reversal in a later period): kept, never shown
    ]


def _totals(
    unit_id: int | None, start: dt.datetime, factor: int, users: list[int] | None = None
) -> dict[str, float]:
    """{member: score} from the ledger: the unit's members (`users` of them only, if
    given; any unit if None) with points earned since `start`."""
    from server.points.models import LedgerEntry

    criteria = []
    if unit_id is not None:
        criteria.append(_members_clause(unit_id))
    if users is not None:
        criteria.append(LedgerEntry.user_id.in_(users))
    return {str(uid): score for uid, _, score in _ledger_scores(start, factor, *criteria)}


def _city_scores(start: dt.datetime, factor: int) -> list[tuple[int, int | None, float]]:
    """(user, community, score) of every user registered with a community."""
    from server.auth.models import User

    return _ledger_scores(start, factor, User.community_id.is_not(None))


# KEYS: rebuild log, builders count; ARGV: a new log's token, the log's TTL.
# Opens (or joins) the log; answers how long it is and its token (its first element).
_BEGIN = """
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {redis.call('LLEN', KEYS[1]), redis.call('LINDEX', KEYS[1], 0)}
"""
# KEYS: new set, ranking, built marker, rebuild log, builders count; ARGV: log entries
# accounted for, the log's token, the ranking's TTL (0: none), the log's TTL.
# Users logged since: {'more', length, users} (reread them, call again). The log gone or
# replaced (expired, flushed): {'lost'} (start over). Else the new set replaces the
# ranking, which is marked built: {'done', size}. The replaced set is UNLINKed (freed in
# the background): a RENAME over a 100,000-member set frees it in place, ≈20 ms in which
# Redis answers no one.
_FINISH = """
local n = redis.call('LLEN', KEYS[4])
if n == 0 or redis.call('LINDEX', KEYS[4], 0) ~= ARGV[2] then return {'lost'} end
if n > tonumber(ARGV[1]) then
  redis.call('EXPIRE', KEYS[4], ARGV[4])
  redis.call('EXPIRE', KEYS[5], ARGV[4])
  return {'more', n, redis.call('LRANGE', KEYS[4], tonumber(ARGV[1]), n - 1)}
end
redis.call('UNLINK', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('SET', KEYS[3], '1', 'EX', ttl)
else
  redis.call('PERSIST', KEYS[2])
  redis.call('SET', KEYS[3], '1')
end
if redis.call('DECR', KEYS[5]) <= 0 then redis.call('DEL', KEYS[4], KEYS[5]) end
return {'done', redis.call('ZCARD', KEYS[2])}
"""
# KEYS: new set, rebuild log, builders count. A rebuild that did not finish leaves.
_END = """
redis.call('UNLINK', KEYS[1])
if redis.call('DECR', KEYS[3]) <= 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return 1
"""
REBUILD_LOG_TTL_S = 600
REBUILD_ROUNDS = 100
REBUILD_ATTEMPTS = 3
# Members per ZADD of a new set: Redis serves other clients between commands, and one
# ZADD of 100,000 members keeps it from answering anyone for ≈0.3 s (1,000: ≈3 ms).
REBUILD_CHUNK = 1000
# How long `rebuild_all` (the CLI, the periodic job) keeps a rebuild's log open after it
# began reading the ledger, at the least: an award committed just before that read whose
# Redis write comes late (a stalled process) is reread if it lands within this time; later
# it would be counted twice, until the next rebuild (the module's doc).
REBUILD_SETTLE_S = 5.0


class _Build:
    """One ranking's rebuild under way: its log opened, then its new set written and
    swapped in (`finish`), or left (`leave`)."""

    def __init__(self, unit_id: int, period: str, now: dt.datetime) -> None:
        self.unit_id = unit_id
        _, self.start = period_info(period, now)
        self.key, self.marker = _keys(unit_id, period, now)
        self.log_key, self.builders = _log_keys(unit_id, period, now)
        self.factor = FACTOR[period]
        self.ttl = MONTH_TTL_S if period == "month" else 0
        self.temp = f"{self.key}:building:{uuid.uuid4().hex}"
        self.seen, self.token, self.open = 0, "", False

    def begin(self, pipe) -> None:
        """Open (or join) the log, on `pipe`; `begun` takes the reply."""
        token = uuid.uuid4().hex
        pipe.eval(_BEGIN, 2, self.log_key, self.builders, token, REBUILD_LOG_TTL_S)

    def begun(self, reply) -> None:
        self.seen, self.token, self.open = int(reply[0]), reply[1], True

    def finish(self, scores: dict[str, float]) -> int | None:
        """Write the new set and swap it in, rereading the users logged meanwhile: the
        members it holds; None when the log was lost (start again)."""
        redis = get_redis()
        gone: list[str] = []
        for _round in range(REBUILD_ROUNDS):
            pipe = redis.pipeline(transaction=False)
            items = list(scores.items())
            for i in range(0, len(items), REBUILD_CHUNK):
                pipe.zadd(self.temp, dict(items[i : i + REBUILD_CHUNK]))
            if gone:
                pipe.zrem(self.temp, *gone)
            pipe.expire(self.temp, REBUILD_LOG_TTL_S)
            keys = (self.temp, self.key, self.marker, self.log_key, self.builders)
            args = (self.seen, self.token, self.ttl, REBUILD_LOG_TTL_S)
            pipe.eval(_FINISH, len(keys), *keys, *args)
            reply = pipe.execute()[-1]
            if reply[0] == "done":
                self.open = False
                return int(reply[1])
            if reply[0] == "lost":
                return None
            self.seen, logged = int(reply[1]), sorted({int(uid) for uid in reply[2]})
            scores = _totals(self.unit_id, self.start, self.factor, logged)
            gone = [str(uid) for uid in logged if str(uid) not in scores]
        log.warning("ranking %s: still changing after %d rereads", self.key, REBUILD_ROUNDS)
        return 0

    def leave(self) -> None:
        """Leave the log and drop the new set, unless finished."""
        if not self.open:
            return
        self.open = False
        try:
            get_redis().eval(_END, 3, self.temp, self.log_key, self.builders)
        except RedisError:
            log.warning("ranking %s: could not leave its rebuild log", self.key)


def rebuild(unit_id: int, period: str, now: dt.datetime | None = None) -> int | None:
    """Rebuild one ranking from the ledger; returns how many members it holds, or None when
    it gave up (its log lost REBUILD_ATTEMPTS times: Redis flushed or failed over meanwhile;
    the ranking is then left as it was).

    Awards committed while it runs are not lost: they log their users (the log is opened
    before the ledger is read), whose points are read again before the new set replaces
    the ranking, until no user was logged since. One committed before the ledger read whose
    Redis write lands only after the swap is counted twice, until the next rebuild (see
    the module's doc).
    """
    now = now or utcnow()
    for _attempt in range(REBUILD_ATTEMPTS):
        build = _Build(unit_id, period, now)
        pipe = get_redis().pipeline(transaction=False)
        build.begin(pipe)
        build.begun(pipe.execute()[0])
        try:
            count = build.finish(_totals(unit_id, build.start, build.factor))
        finally:
            build.leave()
        if count is not None:
            return count
    log.warning("ranking %s: its rebuild log was lost %d times", build.key, REBUILD_ATTEMPTS)
    return None


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


def rebuild_all(settle: float | None = None) -> list[tuple[int, str, int | None]]:
    """Rebuild every community's and street's month and all-time rankings: (unit id, period,
    members), members None for a ranking that could not be rebuilt (`rebuild`).

    One ledger read per period for the whole city (a user's score is the same in their
    community and its street), shared out to the rankings; each ranking's log is opened
    before that read and kept open at least `settle` seconds after it (REBUILD_SETTLE_S).
    """
    now = utcnow()
    settle = REBUILD_SETTLE_S if settle is None else settle
    ranked = dict(
        db.session.execute(
            select(OrgUnit.path, OrgUnit.id)
            .where(OrgUnit.level.in_(("community", "street")))
            .order_by(OrgUnit.id)
        ).all()
    )
    # a user's community → the rankings they are in: it and the units above it (by path,
    # as _members_clause)
    ranked_in: dict[int, list[int]] = {}
    for unit_id, path in db.session.execute(select(OrgUnit.id, OrgUnit.path)).all():
        prefixes = (path[: i + 1] for i, c in enumerate(path) if c == "/")
        ranked_in[unit_id] = [ranked[p] for p in prefixes if p in ranked]
    unit_ids = sorted(ranked.values())
    done = []
    redis = get_redis()
    for period in PERIODS:
        builds = [_Build(unit_id, period, now) for unit_id in unit_ids]
        try:
            pipe = redis.pipeline(transaction=False)
            for build in builds:
                build.begin(pipe)
            for build, reply in zip(builds, pipe.execute(), strict=True):
                build.begun(reply)
            read_at = time.monotonic()
            _, start = period_info(period, now)
            scores: dict[int, dict[str, float]] = {unit_id: {} for unit_id in unit_ids}
            for uid, community, score in _city_scores(start, FACTOR[period]):
                for unit_id in ranked_in.get(community, ()):
                    scores[unit_id][str(uid)] = score
            wait = read_at + settle - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            for build in builds:
                count = build.finish(scores.pop(build.unit_id))
                if count is None:  # its log was lost (expired, flushed): on its own
                    build.leave()
                    count = rebuild(build.unit_id, period, now)
                done.append((build.unit_id, period, count))
        finally:
            for build in builds:
                build.leave()
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
-- ranked: at least one point in the period (score >= factor); members at or below zero
-- (a reversal in a later period) are kept for their next award but never shown
local leaders = redis.call('ZREVRANGEBYSCORE', zset, '+inf', ARGV[7], 'WITHSCORES',
                           'LIMIT', 0, tonumber(ARGV[1]))
local ids = {}
for i = 1, #leaders, 2 do ids[#ids + 1] = leaders[i] end
local names = {}
if #ids > 0 then names = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {record, unit, redis.call('EXISTS', ARGV[5] .. unit), leaders, names,
        redis.call('ZREVRANK', zset, ARGV[2]), redis.call('ZSCORE', zset, ARGV[2]),
        redis.call('ZCOUNT', zset, ARGV[7], '+inf')}
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


def _is_staff() -> bool:
    from server.auth.guards import active_binding, current_user

    return active_binding(current_user()) is not None


def _staff_unit(scope: str, org_unit_id: int | None) -> int:
    """The unit whose ranking a staff member reads: `org_unit_id` (in their subtree) or their
    own unit, taken up to the scope's level (a grid's community, a community's street). A
    caller who is neither registered nor staff is told to register."""
    from server.auth.guards import active_binding, current_user

    user = current_user()
    binding = active_binding(user)
    if binding is None:
        raise DomainError(
            "ranking.not_registered", "请先在「我的」中完成社区报到，再查看排行榜", 400
        )
    unit = binding.org_unit
    level = "street" if scope == "street" else "community"
    if org_unit_id is not None:
        wanted = db.session.get(OrgUnit, org_unit_id)
        below = wanted is not None and wanted.path.startswith(unit.path)
        # named by id, the ranking they read without one (a grid worker's own community)
        own = wanted is not None and wanted.level == level and unit.path.startswith(wanted.path)
        if not (below or own):
            raise NotFound()
        unit = wanted
    while unit.level != level and LEVELS.index(unit.level) > LEVELS.index(level):
        unit = db.session.get(OrgUnit, unit.parent_id)
    if unit.level != level:  # a street's staff asking for a community's ranking
        message = "请切换到「街道」排行，或选择要查看的社区"
        if level == "street":
            message = "请选择要查看的街道"
        raise DomainError("ranking.unit_required", message, 422)
    return unit.id


def rankings_for(
    claims, scope: str, period: str, top: int, org_unit_id: int | None = None
) -> dict[str, Any]:
    """Top N of the caller's community (or street) in the period, and the caller's own rank.

    `claims`: the caller's checked token (`guards.token_required`). Their principal record
    (community, street, display name) is read by the ranking's own script, in the same
    round trip; a second read follows only when the record was not in Redis or the ranking
    was not built yet. Staff not registered with a community read the ranking of their
    unit's community or street; any staff member naming `org_unit_id` (in their subtree)
    reads that one; `me` is then unranked.
    """
    now = utcnow()
    zset_prefix, marker_prefix = _keys("", period, now)
    redis = get_redis()
    script = current_app.extensions.get("fengchao_rank_read")
    if script is None:
        script = current_app.extensions["fengchao_rank_read"] = redis.register_script(_READ)

    def read(unit: str) -> list:
        args = [top, claims.user_id, scope, zset_prefix, marker_prefix, unit, FACTOR[period]]
        return script(keys=[claims.principal_key(), NAMES_KEY], args=args)

    reply = read("")
    user = claims.accept(reply[0])  # 401 for a revoked token; a missing record: database
    if user.community_id is None or (org_unit_id is not None and _is_staff()):
        # staff (also one registered as a rider or resident somewhere, asking for a unit
        # by id); a rider naming a unit still reads their own
        unit_id = _staff_unit(scope, org_unit_id)
        reply = read(str(unit_id))  # the first read looked for a community the caller has not
    else:
        unit_id = user.community_id if scope != "street" else user.street_id
        if len(reply) == 1:  # the record was not in Redis: read from the database just now
            reply = read(str(unit_id))
    if not reply[2]:  # not built yet (its first reader, or after a Redis flush)
        _rebuild_once(unit_id, period, now, marker_prefix + str(unit_id))
        reply = read(str(unit_id))
    _, _, _, flat, cached_names, my_rank, my_score, size = reply
    leaders = list(zip(flat[::2], flat[1::2], strict=True))
    factor = FACTOR[period]
    my_points = 0 if my_score is None else int(float(my_score) // factor)
    if my_points <= 0:  # kept for the next award, not ranked
        my_rank, my_points = None, 0
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
            "points": my_points,
            "display_name": mask_name(user.display_name),
        },
    }

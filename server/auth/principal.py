"""Who a token speaks for, answered from Redis: the per-request authentication record.

Every authenticated request needs the user's token version (revocation), whether the
account is active, and for the hot paths the rider's community and street and display
name. Loading the `User` row through the ORM for that on every request cost more than the
rest of a read endpoint, so that record (a `Principal`) lives in Redis under
`auth:p:<user id>`:

- **Written through** whenever a `User` row is flushed and the transaction commits (login,
  logout, unbinding, PATCH /me, deactivation — any ORM change), with the values just
  committed. Revocation is therefore immediate on every worker.
- **Expiring** after `TTL_S` (10 minutes), so a write lost to a Redis outage at the
  moment of a change cannot outlive that.
- **Filled on a miss** (after a Redis flush, or for a user whose record expired) from the
  database with `SET NX`: a fill that read a row just before a revocation committed can
  never overwrite the revocation's own write (it finds the key there and does nothing).

Views that need the whole row still get it from `current_user()` (an ORM load, once per
request); `current_principal()` is what the guards and the hot endpoints use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, fields
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from server.extensions import db, get_redis, in_savepoint

log = logging.getLogger(__name__)

_PENDING = "fengchao_principals"


@dataclass(frozen=True, slots=True)
class Principal:
    id: int
    token_version: int
    is_active: bool
    community_id: int | None
    street_id: int | None
    display_name: str | None


def key(user_id: int) -> str:
    """The user's record in Redis (a view may read it in its own pipeline: `from_record`)."""
    return f"auth:p:{user_id}"


def _encode(p: Principal) -> str:
    return json.dumps(
        [p.token_version, int(p.is_active), p.community_id, p.street_id, p.display_name],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _decode(user_id: int, raw: str) -> Principal:
    version, active, community, street, name = json.loads(raw)
    return Principal(user_id, version, bool(active), community, street, name)


# Records expire after 10 minutes unread-or-not: a rider active all day costs one database
# read per 10 minutes, and should a revocation's write ever fail (Redis unreachable at
# that instant; it is logged), the stale record cannot outlive this.
TTL_S = 600


def record_source() -> tuple[tuple, Any]:
    """The columns a `Principal` is made of, in its fields' order, and the FROM they come
    from (users ⟕ their community, whose parent is the street): for `_load`, and for a view
    that reads the database anyway and authenticates in the same statement
    (`TokenClaims.accept_principal`)."""
    from server.auth.models import User
    from server.org.models import OrgUnit

    columns = (
        User.id,
        User.token_version,
        User.is_active,
        User.community_id,
        OrgUnit.parent_id,
        User.display_name,
    )
    return columns, User.__table__.outerjoin(OrgUnit, OrgUnit.id == User.community_id)


# How many columns of a row `record_source()` makes a principal of.
RECORD_WIDTH = len(fields(Principal))


def from_row(row) -> Principal:
    """A principal from a row that starts with `record_source()`'s columns."""
    return Principal(*row[:RECORD_WIDTH])


_LOAD = None


def _load(user_ids: list[int]) -> dict[int, Principal]:
    return _read(user_ids, db.session)


def _read(user_ids: list[int], session: Session) -> dict[int, Principal]:
    global _LOAD
    if _LOAD is None:  # built once (the models import this module's users)
        columns, source = record_source()
        _LOAD = (
            select(*columns)
            .select_from(source)
            .where(columns[0].in_(bindparam("ids", expanding=True)))
        )
    rows = session.execute(_LOAD, {"ids": list(user_ids)}).all()
    return {row[0]: from_row(row) for row in rows}


def get_many(user_ids: list[int] | set[int]) -> dict[int, Principal]:
    """The principals of these users (missing ones filled from the database).

    Without Redis (unreachable) they come from the database: slower, never wrong.
    """
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    redis = get_redis()
    found: dict[int, Principal] = {}
    missing = []
    try:
        cached = redis.mget([key(uid) for uid in ids])
    except RedisError:
        log.warning("principals: Redis unreachable, reading users from the database")
        return _load(ids)
    for uid, raw in zip(ids, cached, strict=True):
        if raw is None:
            missing.append(uid)
        else:
            found[uid] = _decode(uid, raw)
    if missing:
        loaded = _load(missing)
        if loaded:
            ttl = TTL_S
            pipe = redis.pipeline(transaction=False)
            for principal in loaded.values():
                pipe.set(key(principal.id), _encode(principal), nx=True, ex=ttl)
            try:
                pipe.execute()
            except RedisError:
                log.warning("principals: could not cache %d records", len(loaded))
        found.update(loaded)
    return found


def get(user_id: int) -> Principal | None:
    """One user's principal (None for a user that does not exist)."""
    try:
        raw = get_redis().get(key(user_id))
    except RedisError:
        log.warning("principals: Redis unreachable, reading the user from the database")
        return _load([user_id]).get(user_id)
    return from_record(user_id, raw)


def from_record(user_id: int, raw: str | None) -> Principal | None:
    """The principal from its Redis record as read (by `get` or in a caller's own pipeline);
    a missing record (expired, flushed) is filled from the database as `get_many` does."""
    if raw is not None:
        return _decode(user_id, raw)
    return get_many([user_id]).get(user_id)


# A write-through never goes back: a record already holding a higher token version (a
# logout or unbinding committed by another request, whose write got there first) is kept.
# KEYS[1] the record; ARGV: the new record, its token version, the TTL.
_STORE = """
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^%[(%d+)'))
  if version and version > tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""


def store(principals: list[Principal]) -> None:
    """Write these records (overwriting, but never with an older token version): what a
    commit that changed the users does."""
    if not principals:
        return
    ttl = TTL_S
    pipe = get_redis().pipeline(transaction=False)
    for principal in principals:
        # EVAL, not a registered script: a pipeline asks SCRIPT EXISTS first otherwise
        pipe.eval(_STORE, 1, key(principal.id), _encode(principal), principal.token_version, ttl)
    pipe.execute()


def warm(user_ids: list[int]) -> int:
    """Write the records of these users from the database (operators, benchmarks)."""
    loaded = _load(list(user_ids))
    store(list(loaded.values()))
    return len(loaded)


# ---------------------------------------------------------------- write-through


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    from server.auth.models import User

    ids = [o.id for o in (*session.new, *session.dirty) if isinstance(o, User)]
    if not ids:
        return
    # What the rows now hold, read back in this transaction — not the objects' attributes:
    # an object loaded before another request's logout committed still carries the old
    # token version, while the UPDATE just made (of the changed columns only) kept the new.
    session.info.setdefault(_PENDING, {}).update(_read(ids, session))


@event.listens_for(Session, "after_commit")
def _write_after_commit(session: Session) -> None:
    if in_savepoint(session):
        return
    pending = session.info.pop(_PENDING, None)
    if pending:
        try:
            store(list(pending.values()))
        except RedisError:
            # The database has the change; the old record expires within TTL_S.
            log.error("principals: could not write %d changed users to Redis", len(pending))


@event.listens_for(Session, "after_rollback")
def _drop_after_rollback(session: Session) -> None:
    if in_savepoint(session):
        return
    session.info.pop(_PENDING, None)

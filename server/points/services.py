"""The points ledger: awards and spends in the caller's transaction, earning rules,
my points, manual adjustments and the ledger check.

Every change is one `LedgerEntry` plus one conditional update of the user's
`PointsAccount` row (balance, earned counters), made under that row's lock so awards
for one user are serialised on both PostgreSQL and SQLite. The business key
(user, source_type, source_id) is unique: a source awards once, even when two requests
race (INSERT … ON CONFLICT DO NOTHING decides).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Float, bindparam, extract, func, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from server.cache import VersionedCache
from server.clock import local_today, utcnow
from server.errors import DomainError, NotFound
from server.extensions import db
from server.http import key_reused
from server.org.models import OrgUnit
from server.points import rankings
from server.points.models import (
    RULES,
    SPENDING_SOURCES,
    EarningRule,
    LedgerEntry,
    PointsAccount,
    PointsAdjustment,
)

log = logging.getLogger(__name__)

ACCOUNTS = PointsAccount.__table__
LEDGER = LedgerEntry.__table__

# (points, daily cap per user) when no unit up the tree has a rule of its own.
DEFAULT_RULES: dict[str, tuple[int, int | None]] = {
    "checkin": (5, 20),
    "clue_accepted": (10, 50),
    "clue_confirmed": (2, 10),
    "clue_self_handled": (5, 20),
    "activity_attendance": (20, 60),
    "post_duty": (10, 30),
}
RULE_NAMES = {
    "checkin": "驿站打卡",
    "clue_accepted": "线索被采纳",
    "clue_confirmed": "线索确认（重复上报）",
    "clue_self_handled": "小事自处理",
    "activity_attendance": "参加活动",
    "post_duty": "治理岗位履职",
}


class InsufficientPoints(DomainError):
    code = "points.insufficient"
    message = "积分不足"
    status = 400


def _insert(table):
    """INSERT with ON CONFLICT support for the session's dialect."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def month_key(now: dt.datetime | None = None) -> int:
    today = local_today(now)
    return today.year * 100 + today.month


# ----------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleConfig:
    rule: str
    points: int
    daily_cap: int | None


# Earning rules are read on every award and change rarely: kept per process, dropped on
# every committed change to a rule or to the tree they are inherited through.
RULES_CACHE = VersionedCache("earning_rules", [EarningRule, OrgUnit])


def rule_config(org_unit_id: int | None, rule: str) -> RuleConfig:
    """The rule for a unit: its own, else the nearest ancestor's, else the default in code."""
    if rule not in DEFAULT_RULES:
        raise ValueError(f"unknown earning rule {rule!r}")
    RULES_CACHE.ensure_fresh()
    return RULES_CACHE.get((org_unit_id, rule), _load_rules)


def _load_rules(keys: list[tuple[int | None, str]]) -> dict[tuple[int | None, str], RuleConfig]:
    return {(unit, rule): _rule_from_db(unit, rule) for unit, rule in keys}


def _rule_from_db(org_unit_id: int | None, rule: str) -> RuleConfig:
    if org_unit_id is not None:
        target = select(OrgUnit.path).where(OrgUnit.id == org_unit_id).scalar_subquery()
        row = db.session.execute(
            select(EarningRule.points, EarningRule.daily_cap)
            .join(OrgUnit, OrgUnit.id == EarningRule.org_unit_id)
            .where(EarningRule.rule == rule, target.startswith(OrgUnit.path))
            .order_by(OrgUnit.depth.desc())
            .limit(1)
        ).first()
        if row is not None:
            return RuleConfig(rule, row.points, row.daily_cap)
    points, cap = DEFAULT_RULES[rule]
    return RuleConfig(rule, points, cap)


def rule_points(org_unit_id: int, rule: str) -> int:
    """Points the earning rule gives in this unit (inherited up the tree, defaults in code)."""
    return rule_config(org_unit_id, rule).points


def set_rule(org_unit_id: int, rule: str, points: int, daily_cap: int | None) -> EarningRule:
    """Create or change a unit's earning rule (flush, no commit)."""
    if rule not in RULES:
        raise DomainError("points.unknown_rule", "积分规则不存在", 422)
    existing = db.session.execute(
        select(EarningRule).where(EarningRule.org_unit_id == org_unit_id, EarningRule.rule == rule)
    ).scalar_one_or_none()
    if existing is None:
        existing = EarningRule(org_unit_id=org_unit_id, rule=rule)
        db.session.add(existing)
    existing.points = points
    existing.daily_cap = daily_cap
    db.session.flush()
    return existing


# ---------------------------------------------------------------------------- ledger


@dataclass
class AwardResult:
    """What an award did: its outcome, the balance after it and, awarded, the entry's
    columns as inserted. `entry` is the ORM object for the callers that want one (made when
    first asked, in the caller's transaction: a check-in needs only the delta, and making
    and then expiring an ORM object was ≈4% of its CPU, bench/README.md)."""

    outcome: str  # "awarded" | "duplicate" | "capped"
    balance: int
    row: dict[str, Any] | None = None  # awarded: the inserted entry's columns, id included

    @property
    def delta(self) -> int:
        return self.row["delta"] if self.row is not None else 0

    @functools.cached_property
    def entry(self) -> LedgerEntry | None:
        if self.row is None:
            return None
        entry = LedgerEntry(**self.row)  # the row just inserted, without re-reading it
        make_transient_to_detached(entry)
        db.session.add(entry)
        return entry


# The statements of an award, built once: building a statement costs several times more
# CPU than executing it (bench/README.md). They run on the session's connection (Core, no
# ORM layer per statement), in the caller's transaction.
_LOCK = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.user_id == bindparam("uid"))
    .values(version=ACCOUNTS.c.version + 1)
    .returning(
        ACCOUNTS.c.balance,
        ACCOUNTS.c.month_key,
        ACCOUNTS.c.month_earned,
        ACCOUNTS.c.lifetime_earned,
        ACCOUNTS.c.day,
        ACCOUNTS.c.day_earned,
        ACCOUNTS.c.last_checkin_lat,
        ACCOUNTS.c.last_checkin_lng,
        ACCOUNTS.c.last_checkin_at,
    )
)
# What the day's entries add up to per rule, from the ledger: for an account whose row does
# not know it yet (written before it carried `day_earned`).
_DAY_BY_RULE = (
    select(LEDGER.c.rule, func.sum(LEDGER.c.delta))
    .where(
        LEDGER.c.user_id == bindparam("uid"),
        LEDGER.c.day == bindparam("day"),
        LEDGER.c.rule.is_not(None),
    )
    .group_by(LEDGER.c.rule)
)
# Whether a source has its entry already (the ledger's business key).
_SOURCE_SEEN = select(LEDGER.c.id).where(
    LEDGER.c.user_id == bindparam("uid"),
    LEDGER.c.source_type == bindparam("st"),
    LEDGER.c.source_id == bindparam("sid"),
)
# A check-in's position, kept when given (else the row's own).
_POSITION = {
    "last_checkin_lat": func.coalesce(
        bindparam("ci_lat", type_=Float, required=False), ACCOUNTS.c.last_checkin_lat
    ),
    "last_checkin_lng": func.coalesce(
        bindparam("ci_lng", type_=Float, required=False), ACCOUNTS.c.last_checkin_lng
    ),
    "last_checkin_at": func.coalesce(
        bindparam("ci_at", type_=DateTime, required=False), ACCOUNTS.c.last_checkin_at
    ),
}
_SPEND = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.user_id == bindparam("uid"), ACCOUNTS.c.balance + bindparam("delta") >= 0)
    .values(
        balance=ACCOUNTS.c.balance + bindparam("delta"),
        entries_count=ACCOUNTS.c.entries_count + 1,
        updated_at=bindparam("now"),
        day=bindparam("day"),
        day_earned=bindparam("day_earned"),
        **_POSITION,
    )
)
_EARN = _SPEND.values(
    lifetime_earned=ACCOUNTS.c.lifetime_earned + bindparam("delta"),
    month_key=bindparam("month_key"),
    month_earned=bindparam("month_earned"),
    earned_changed_at=bindparam("now"),
)
# A check-in that earns nothing (a closed station) still moves the rider.
_MOVE = update(ACCOUNTS).where(ACCOUNTS.c.user_id == bindparam("uid")).values(**_POSITION)
_BY_DIALECT: dict[str, tuple[Any, Any]] = {}


def _inserts() -> tuple[Any, Any]:
    """(new account row, ledger entry) INSERT … ON CONFLICT DO NOTHING for this dialect."""
    name = db.session.get_bind().dialect.name
    if name not in _BY_DIALECT:
        _BY_DIALECT[name] = (
            _insert(ACCOUNTS).on_conflict_do_nothing(),
            _insert(LEDGER).on_conflict_do_nothing().returning(LEDGER.c.id),
        )
    return _BY_DIALECT[name]


def lock_account(user_id: int):
    """Take the user's account row lock for the rest of the transaction (creating the row on
    first use) and return its current values. Every award, spend and check-in of one user
    is serialised on it, on PostgreSQL and SQLite alike."""
    conn = db.session.connection()
    row = conn.execute(_LOCK, {"uid": user_id}).first()
    if row is None:
        conn.execute(
            _inserts()[0],
            {
                "user_id": user_id,
                "balance": 0,
                "lifetime_earned": 0,
                "month_key": 0,
                "month_earned": 0,
                "entries_count": 0,
                "version": 0,
                "updated_at": utcnow(),
            },
        )
        row = conn.execute(_LOCK, {"uid": user_id}).first()
    return row


def _day_earned(conn, account, user_id: int, today: dt.date) -> dict[str, int]:
    """Per rule, what the user's entries of `today` add up to (read under the lock)."""
    if account.day is not None and account.day_earned is not None:
        if account.day == today:
            return dict(account.day_earned)
        if account.day < today:
            return {}  # every entry writes the row's day: none today yet
    # Not known (an older row), or the row is a day ahead of this node's clock: the ledger.
    rows = conn.execute(_DAY_BY_RULE, {"uid": user_id, "day": today})
    return {rule: int(total) for rule, total in rows}


def move_rider(user_id: int, lat: float, lng: float, at: dt.datetime) -> None:
    """Record a check-in's position that awards nothing (under the account's lock)."""
    db.session.connection().execute(
        _MOVE, {"uid": user_id, "ci_lat": lat, "ci_lng": lng, "ci_at": at}
    )


def apply_points(
    user_id: int,
    delta: int,
    *,
    reason: str,
    source_type: str,
    source_id: str | int,
    org_unit_id: int | None = None,
    rule: str | None = None,
    points_rule: RuleConfig | None = None,
    user_units: tuple[int | None, int | None] | None = None,
    account=None,
    checkin: tuple[float, float] | None = None,
    now: dt.datetime | None = None,
) -> AwardResult:
    """award_points with the outcome spelled out (awarded, duplicate, capped) and the balance.

    `user_units`: the user's (community, street) when the caller has them at hand (the
    rankings update then needs no lookup). `account`: the row `lock_account` returned when
    the caller took the lock already, in this transaction. `checkin`: the (lat, lng) of the
    check-in this awards, kept on the account for the next impossible-travel check. `now`:
    the moment of the action this records (naive UTC; default: the clock now), which dates
    the entry and decides its Asia/Shanghai day and month — the caller passes its own when
    it has already keyed something by that day (a check-in's `<station>:<day>` source), so
    that an award reached after midnight (a lock wait) is not dated and capped a day later.
    """
    now = now or utcnow()
    today = local_today(now)
    source_id = str(source_id)
    conn = db.session.connection()
    if account is None:
        account = lock_account(user_id)
    day_earned = None
    if rule is not None and delta > 0:
        config = points_rule or rule_config(org_unit_id, rule)
        if config.daily_cap is not None:
            day_earned = _day_earned(conn, account, user_id, today)
            remaining = config.daily_cap - day_earned.get(rule, 0)
            if remaining <= 0:
                # a source that awarded already (a retry, or its day key lost) is a duplicate,
                # whatever the cap says now; only on this rare path, so no award pays for it
                seen = conn.execute(
                    _SOURCE_SEEN, {"uid": user_id, "st": source_type, "sid": source_id}
                ).first()
                return AwardResult("duplicate" if seen else "capped", account.balance)
            delta = min(delta, remaining)
    balance_after = account.balance + delta
    if balance_after < 0:
        raise InsufficientPoints(
            message=f"积分不足：需要 {-delta} 分，当前余额 {account.balance} 分",
            details={"balance": account.balance, "needed": -delta},
        )
    row = {
        "user_id": user_id,
        "delta": delta,
        "balance_after": balance_after,
        "reason": reason[:200],
        "source_type": source_type,
        "source_id": source_id,
        "rule": rule,
        "org_unit_id": org_unit_id,
        "day": today,
        "created_at": now,
    }
    inserted = conn.execute(_inserts()[1], row).first()
    if inserted is None:
        return AwardResult("duplicate", account.balance)
    row_day = today
    if account.day is not None and account.day_earned is not None and account.day > today:
        # the row's day is ahead of this node's clock (skew around midnight): it keeps its
        # own day and sums; this entry, dated today, is not one of them
        row_day, day_earned = account.day, dict(account.day_earned)
    else:
        if day_earned is None:
            day_earned = _day_earned(conn, account, user_id, today)
        if rule is not None:
            day_earned[rule] = day_earned.get(rule, 0) + delta
    values: dict[str, Any] = {
        "uid": user_id,
        "delta": delta,
        "now": now,
        "day": row_day,
        "day_earned": day_earned,
        "ci_lat": checkin[0] if checkin else None,
        "ci_lng": checkin[1] if checkin else None,
        "ci_at": now if checkin else None,
    }
    earning = source_type not in SPENDING_SOURCES and delta != 0
    if earning:
        current_month = today.year * 100 + today.month
        if account.month_key is not None and account.month_key > current_month:
            # as with the day: the row is in a month this node's clock has not reached yet
            # (skew at a month's end); it keeps that month's sum, this entry is not in it
            values.update(month_key=account.month_key, month_earned=account.month_earned)
        else:
            month_earned = account.month_earned if account.month_key == current_month else 0
            values.update(month_key=current_month, month_earned=month_earned + delta)
    changed = conn.execute(_EARN if earning else _SPEND, values).rowcount
    if changed != 1:  # cannot happen under the lock; refuse rather than go negative
        raise InsufficientPoints()
    if earning:
        rankings.after_commit_add(user_id, delta, now, user_units)
    return AwardResult("awarded", balance_after, {"id": inserted.id, **row})


def award_points(
    user_id: int,
    delta: int,
    *,
    reason: str,
    source_type: str,
    source_id: str | int,
    org_unit_id: int | None = None,
    rule: str | None = None,
) -> LedgerEntry | None:
    """Add a ledger entry and update the balance in the caller's transaction (no commit).

    Returns None, changing nothing, when this (user, source_type, source_id) already has an
    entry, or when `rule`'s per-day cap for the user is used up; a partly used cap reduces
    the award to what is left. A change that would make the balance negative raises
    `points.insufficient`.
    """
    return apply_points(
        user_id,
        delta,
        reason=reason,
        source_type=source_type,
        source_id=source_id,
        org_unit_id=org_unit_id,
        rule=rule,
    ).entry


# -------------------------------------------------------------------------- reading


_SUMMARY = (
    ACCOUNTS.c.balance,
    ACCOUNTS.c.month_key,
    ACCOUNTS.c.month_earned,
    ACCOUNTS.c.lifetime_earned,
    ACCOUNTS.c.entries_count,
)


def _summary_of(row) -> dict[str, Any]:
    """The counters of an account row (no row: no account yet, nothing earned)."""
    if row is None:
        return {"balance": 0, "earned_this_month": 0, "lifetime_earned": 0, "entries": 0}
    return {
        "balance": row.balance,
        # the month's net earnings; a reversal in a later month than the award can take it
        # below zero, shown as 0 (and not ranked), as rankings count it
        "earned_this_month": max(0, row.month_earned) if row.month_key == month_key() else 0,
        "lifetime_earned": row.lifetime_earned,
        "entries": row.entries_count,
    }


def account_summary(user_id: int) -> dict[str, Any]:
    """Balance, earned this month and lifetime, from the account row (never the ledger sum)."""
    row = db.session.execute(select(*_SUMMARY).where(ACCOUNTS.c.user_id == user_id)).first()
    return _summary_of(row)


_PAGE = (
    select(
        LEDGER.c.id,
        LEDGER.c.delta,
        LEDGER.c.balance_after,
        LEDGER.c.reason,
        LEDGER.c.source_type,
        LEDGER.c.source_id,
        LEDGER.c.rule,
        LEDGER.c.created_at,
    )
    .where(LEDGER.c.user_id == bindparam("uid"))
    .order_by(LEDGER.c.id.desc())
    .limit(bindparam("limit"))
    .offset(bindparam("offset"))
    .subquery("page")
)
_MY_POINTS = None
_Summary = namedtuple("_Summary", [c.name for c in _SUMMARY])


def my_points(user_id: int, page: int, page_size: int) -> tuple[Any, dict[str, Any]]:
    """My principal (`principal.from_row`; None: no such user), and my balance and counters
    with one page of my ledger (newest first): one statement, from the user's row, so that
    the caller authenticates with the same read (`TokenClaims.accept_principal`)."""
    from server.auth import principal as principals

    global _MY_POINTS
    if _MY_POINTS is None:  # built once (the user model imports late)
        columns, source = principals.record_source()
        _MY_POINTS = (
            select(*columns, *_SUMMARY, _PAGE)
            .select_from(
                source.outerjoin(ACCOUNTS, ACCOUNTS.c.user_id == columns[0]).outerjoin(
                    _PAGE, true()
                )
            )
            .where(columns[0] == bindparam("uid"))
            .order_by(_PAGE.c.id.desc())
        )
    params = {"uid": user_id, "limit": page_size, "offset": (page - 1) * page_size}
    # One statement, one snapshot: run outside a transaction (no BEGIN, no ROLLBACK round
    # trips) on a connection of its own.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        rows = conn.execute(_MY_POINTS, params).all()
    if not rows:
        return None, {}
    # by position: the user's columns, the account's (NULL: no account yet), the entry's
    first, start = rows[0], principals.RECORD_WIDTH + len(_SUMMARY)
    account = first[principals.RECORD_WIDTH : start]
    summary = _summary_of(None if account[0] is None else _Summary(*account))
    total = summary.pop("entries")
    names = [c.name for c in _PAGE.columns]
    items = [dict(zip(names, row[start:], strict=True)) for row in rows if row[start] is not None]
    page_info = {"total": total, "page": page, "page_size": page_size}
    return principals.from_row(first), {**summary, "ledger": {"items": items, **page_info}}


def balance_of(user_id: int) -> int:
    return account_summary(user_id)["balance"]


# ---------------------------------------------------------------------- adjustments


def adjust_points(scope, user_id: int, delta: int, reason: str, key: str | None):
    """A staff grant or deduction for a user in the caller's subtree (audited, notified);
    a replayed Idempotency-Key (also one racing in at the same time) returns the first."""
    if key:
        existing = _adjustment_by_key(scope.user.id, key)
        if existing is not None:
            return _replayed_adjustment(existing, user_id, delta, reason)
    try:
        return _adjust(scope, user_id, delta, reason, key)
    except IntegrityError:  # the same key raced in twice (a double tap): answer with the first
        db.session.rollback()
        existing = _adjustment_by_key(scope.user.id, key) if key else None
        if existing is None:
            raise
        return _replayed_adjustment(existing, user_id, delta, reason)


def _replayed_adjustment(existing, user_id: int, delta: int, reason: str):
    """The first adjustment under a key, for a retry of the same one; another user, amount or
    reason under that key is refused (409 `idempotency.key_reused`)."""
    if (existing.user_id, existing.delta, existing.reason) != (user_id, delta, reason):
        raise key_reused("积分调整")
    return existing, balance_of(existing.user_id)


def _adjustment_by_key(staff_id: int, key: str):
    return db.session.execute(
        select(PointsAdjustment).where(
            PointsAdjustment.created_by_id == staff_id,
            PointsAdjustment.idempotency_key == key,
        )
    ).scalar_one_or_none()


def _adjust(scope, user_id: int, delta: int, reason: str, key: str | None):
    from server.auth.models import User
    from server.notifications.services import notify

    if user_id == scope.user.id:  # the audit trail needs a second person, not a note
        raise DomainError("points.self_adjustment", "不能为自己调整积分，请由其他工作人员办理", 403)
    user = db.session.get(User, user_id)
    if user is None or user.community_id is None:
        raise NotFound("points.unknown_user", "找不到该用户，或该用户尚未在社区报到")
    scope.ensure(user.community_id, "community_admin")
    from server.auth.guards import active_binding

    binding = active_binding(user)
    if binding is not None and (
        binding.org_unit_id == scope.unit.id or not scope.covers(binding.org_unit)
    ):
        # staff who are also registered somewhere: only those below the adjuster, never a
        # colleague of the same unit nor one above (two of them could pay each other)
        raise DomainError(
            "points.adjust_staff_outside",
            "不能为本级或上级工作人员调整积分，请由其上级办理",
            403,
        )
    if delta == 0:
        raise DomainError("points.zero_adjustment", "调整分值不能为 0", 422)
    adjustment = PointsAdjustment(
        user_id=user_id,
        delta=delta,
        reason=reason,
        org_unit_id=user.community_id,
        created_by_id=scope.user.id,
        idempotency_key=key,
    )
    db.session.add(adjustment)
    db.session.flush()
    try:
        result = apply_points(
            user_id,
            delta,
            reason=f"人工调整：{reason}",
            source_type="adjustment",
            source_id=adjustment.id,
            org_unit_id=user.community_id,
        )
    except InsufficientPoints as exc:
        db.session.rollback()
        raise DomainError(
            "points.adjustment_exceeds_balance",
            f"扣减后余额将为负数：该用户当前余额 {exc.details.get('balance', 0)} 分",
            400,
            exc.details,
        ) from None
    verb = "增加" if delta > 0 else "扣减"
    notify(
        user_id,
        "points_adjusted",
        title="积分变动通知",
        body=f"工作人员为您{verb}了 {abs(delta)} 积分，原因：{reason}。"
        f"当前余额 {result.balance} 分。",
        page="pages/points/index",
        data={"delta": delta, "balance": result.balance, "reason": reason},
        dedupe_key=f"points_adjusted:{adjustment.id}",
    )
    log.info(
        "points adjusted",
        extra={"target_user_id": user_id, "delta": delta, "by": scope.user.id},
    )
    db.session.commit()
    return adjustment, result.balance


# ---------------------------------------------------------------------------- verify


def verify_ledger() -> list[str]:
    """Every account: balance = sum of entries, counters agree, no negative running balance.

    Every read is of one snapshot (server/db_snapshot.py): run while riders check in, an
    award committed between two of its queries is not a mismatch."""
    from server.db_snapshot import snapshot

    with snapshot() as conn:
        return _verify_ledger(conn)


def _verify_ledger(conn) -> list[str]:  # conn: a sqlalchemy Connection on one snapshot
    problems: list[str] = []
    sums = {
        row.user_id: row
        for row in conn.execute(
            select(
                LEDGER.c.user_id,
                func.sum(LEDGER.c.delta).label("total"),
                func.count().label("n"),
            ).group_by(LEDGER.c.user_id)
        )
    }
    earned = dict(
        conn.execute(
            select(LEDGER.c.user_id, func.sum(LEDGER.c.delta))
            .where(LEDGER.c.source_type.not_in(SPENDING_SOURCES))
            .group_by(LEDGER.c.user_id)
        ).all()
    )
    accounts = {row.user_id: row for row in conn.execute(select(ACCOUNTS))}
    for user_id in sorted(set(sums) | set(accounts)):
        account, total = accounts.get(user_id), sums.get(user_id)
        balance = account.balance if account else 0
        ledger_total = int(total.total) if total else 0
        if balance != ledger_total:
            problems.append(f"user {user_id}: balance {balance} != ledger sum {ledger_total}")
        if balance < 0:
            problems.append(f"user {user_id}: negative balance {balance}")
        if account and total and account.entries_count != total.n:
            problems.append(
                f"user {user_id}: entries_count {account.entries_count} != {total.n} entries"
            )
        if account and account.lifetime_earned != int(earned.get(user_id) or 0):
            problems.append(
                f"user {user_id}: lifetime_earned {account.lifetime_earned} != "
                f"{int(earned.get(user_id) or 0)} in the ledger"
            )
    # What an account row says its month's earnings are (what /me/points shows as earned
    # this month, at least 0) is the ledger's sum of that month's earning entries.
    year, month = extract("year", LEDGER.c.day), extract("month", LEDGER.c.day)
    month_sums = {
        (user_id, int(y) * 100 + int(m)): int(total or 0)
        for user_id, y, m, total in conn.execute(
            select(LEDGER.c.user_id, year, month, func.sum(LEDGER.c.delta))
            .where(LEDGER.c.source_type.not_in(SPENDING_SOURCES))
            .group_by(LEDGER.c.user_id, year, month)
        )
    }
    for user_id, account in accounts.items():
        if not account.month_key:
            continue  # no earning yet
        in_ledger = month_sums.get((user_id, account.month_key), 0)
        if account.month_earned != in_ledger:
            problems.append(
                f"user {user_id}: month_earned {account.month_earned} in {account.month_key} "
                f"!= {in_ledger} in the ledger"
            )
    # What an account row says its latest day's entries add up to, per rule, is the ledger's.
    days = conn.execute(
        select(LEDGER.c.user_id, LEDGER.c.rule, func.sum(LEDGER.c.delta))
        .join(ACCOUNTS, (ACCOUNTS.c.user_id == LEDGER.c.user_id) & (ACCOUNTS.c.day == LEDGER.c.day))
        .where(LEDGER.c.rule.is_not(None))
        .group_by(LEDGER.c.user_id, LEDGER.c.rule)
    )
    day_sums: dict[int, dict[str, int]] = {}
    for user_id, rule, total in days:
        if total:
            day_sums.setdefault(user_id, {})[rule] = int(total)
    for user_id, account in accounts.items():
        if account.day is None or account.day_earned is None:
            continue  # not known: the ledger is read instead
        said = {rule: n for rule, n in account.day_earned.items() if n}
        if said != day_sums.get(user_id, {}):
            problems.append(
                f"user {user_id}: day_earned {said} on {account.day} != "
                f"{day_sums.get(user_id, {})} in the ledger"
            )
    # The running balance, entry by entry, in order: never negative, balance_after agrees.
    running: dict[int, int] = {}
    stream = conn.execute(
        select(LEDGER.c.id, LEDGER.c.user_id, LEDGER.c.delta, LEDGER.c.balance_after)
        .order_by(LEDGER.c.user_id, LEDGER.c.id)
        .execution_options(yield_per=5000)
    )
    for row in stream:
        value = running.get(row.user_id, 0) + row.delta
        running[row.user_id] = value
        if value < 0:
            problems.append(f"user {row.user_id}: running balance {value} at entry {row.id}")
        if value != row.balance_after:
            problems.append(
                f"user {row.user_id}: entry {row.id} balance_after {row.balance_after} "
                f"!= running {value}"
            )
    return problems


def list_adjustments(scope, args: dict[str, Any]):
    stmt = (
        select(PointsAdjustment)
        .where(scope.clause(PointsAdjustment.org_unit_id))
        .order_by(PointsAdjustment.id.desc())
    )
    if args.get("user_id"):
        stmt = stmt.where(PointsAdjustment.user_id == args["user_id"])
    return stmt


def effective_rules(org_unit_id: int) -> list[dict[str, Any]]:
    """Every rule as it applies in a unit (its own, inherited, or the default)."""
    if db.session.get(OrgUnit, org_unit_id) is None:
        raise NotFound()
    return [
        {"rule": rule, "name": RULE_NAMES[rule], **_as_dict(rule_config(org_unit_id, rule))}
        for rule in RULES
    ]


def _as_dict(config: RuleConfig) -> dict[str, Any]:
    return {"points": config.points, "daily_cap": config.daily_cap}


def put_rule(scope, values: dict[str, Any]) -> list[dict[str, Any]]:
    """Set a unit's earning rule (community admins and above, in their subtree). Without
    `daily_cap` the cap in effect there is kept (changing the points alone must not lift
    it); `daily_cap: null` means no cap."""
    unit_id, rule = values["org_unit_id"], values["rule"]
    scope.ensure(unit_id, "community_admin")
    if rule not in RULES:
        raise DomainError("points.unknown_rule", "积分规则不存在", 422)
    cap = values["daily_cap"] if "daily_cap" in values else rule_config(unit_id, rule).daily_cap
    set_rule(unit_id, rule, values["points"], cap)
    db.session.commit()
    return effective_rules(unit_id)


def delete_rule(scope, unit_id: int, rule: str) -> list[dict[str, Any]]:
    """Drop a unit's own rule: the unit follows its nearest ancestor's (or the default)
    again. Nothing to drop is not an error (a repeated request changes nothing)."""
    scope.ensure(unit_id, "community_admin")
    own = db.session.execute(
        select(EarningRule).where(EarningRule.org_unit_id == unit_id, EarningRule.rule == rule)
    ).scalar_one_or_none()
    if own is not None:
        db.session.delete(own)
        db.session.commit()
    return effective_rules(unit_id)

"""Rewards (积分超市) and redemptions: buy with points, fulfil at the station, cancel or expire.

Creating a redemption is one transaction: lock the rider's account row and deduct the cost
(conditional update, never below zero), count this month's redemptions of the reward (the
account lock serialises one rider's purchases, so the monthly limit holds under races),
decrement the stock (`UPDATE … WHERE stock > 0`), insert the redemption (its voucher code,
also the ledger entry's source, drawn again under a savepoint on a collision). Locks are always
taken account first, then reward, so purchases, cancellations and expiries cannot deadlock.
A pending redemption resolves exactly once: fulfil, cancel and expire are conditional
updates on its status; cancel and expire refund the points through the ledger and the
unit of stock (up to STOCK_MAX). Staff edit stock with `stock_delta` (relative) or with an
absolute `stock` that replaces only the `stock_was` they saw (`update_reward`).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from server import pages
from server.auth.guards import Scope
from server.clock import isoformat, utcnow
from server.errors import Conflict, DomainError, NotFound
from server.extensions import db, redis_after_commit
from server.http import key_reused
from server.org.models import OrgUnit
from server.points.models import Redemption, Reward
from server.points.services import InsufficientPoints, apply_points, lock_account, month_key

log = logging.getLogger(__name__)


def _notice(redemption: Redemption, status: str, at: dt.datetime | None = None) -> dict[str, Any]:
    """What the redemption notifications carry: every field their default templates show
    (server/notifications/config.py: item, status, station, time, expires_at); `at`: when
    it happened (the redemption's creation unless given)."""
    from server.stations.models import Station

    place = db.session.get(Station, redemption.station_id) if redemption.station_id else None
    place = place or db.session.get(OrgUnit, redemption.org_unit_id)
    return {
        "redemption_id": redemption.id,
        "item": redemption.reward_name,
        "status": status,
        "station": place.name if place is not None else "",
        "expires_at": redemption.expires_at,
        "time": at or redemption.created_at,
    }


REWARDS = Reward.__table__
REDEMPTIONS = Redemption.__table__
VOUCHER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
VOUCHER_LENGTH = 8
CODE_ATTEMPTS = 5  # voucher codes drawn for one redemption before giving up (503)
ACTIVE = ("pending", "fulfilled")


def _expiry_days() -> int:
    return int(current_app.config.get("REDEMPTION_EXPIRY_DAYS", 7))


def _new_code() -> str:
    return "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))


def normalise_code(code: str) -> str:
    """A typed or scanned voucher code (`fc-voucher:AB12-CD34`, `ab12 cd34`) as stored."""
    text = code.strip().upper().removeprefix("FC-VOUCHER:")
    return text.replace("-", "").replace(" ", "")


# ---------------------------------------------------------------------------- rewards


def _station_in_scope(scope: Scope, station_id: int):
    """A station a reward may be offered at: one in the caller's subtree (community admin)."""
    from server.stations.models import Station

    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound("station.not_found", "找不到该驿站")
    scope.ensure(station.org_unit_id, "community_admin")
    return station


def _check_station_under(station, unit: OrgUnit) -> None:
    """A reward is handed over at a station of its own unit's subtree: the riders who see
    it in their catalog can collect it there."""
    station_unit = db.session.get(OrgUnit, station.org_unit_id)
    if station_unit is None or not station_unit.is_within(unit):
        raise DomainError(
            "reward.station_outside_unit",
            f"驿站「{station.name}」不在该奖品所属单位的范围内，请选择本单位的驿站",
            422,
        )


def create_reward(scope: Scope, values: dict[str, Any]) -> Reward:
    """Add a reward to a community's (or a station's) catalog."""
    if values.get("station_id"):
        station = _station_in_scope(scope, values["station_id"])
        values.setdefault("org_unit_id", station.org_unit_id)
        values["org_unit_id"] = values["org_unit_id"] or station.org_unit_id
    if not values.get("org_unit_id"):
        raise _unit_required()
    unit = scope.ensure(values["org_unit_id"], "community_admin")
    if values.get("station_id"):
        _check_station_under(station, unit)
    _check_window(values.get("starts_at"), values.get("ends_at"))
    reward = Reward(**values)
    db.session.add(reward)
    db.session.commit()
    return reward


STOCK_MAX = 1_000_000  # as the write schema allows for `stock` itself


def _unit_required() -> DomainError:
    return DomainError("reward.unit_required", "请选择奖品所属的社区或驿站", 422)


def _check_window(starts_at, ends_at) -> None:
    if starts_at and ends_at and ends_at <= starts_at:
        raise DomainError("reward.invalid_window", "下架时间应晚于上架时间", 422)


def reward_in_scope(scope: Scope, reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise NotFound("reward.not_found", "找不到该奖品")
    scope.ensure(reward.org_unit_id)
    return reward


def update_reward(scope: Scope, reward_id: int, values: dict[str, Any]) -> Reward:
    """Edit a reward. Stock moves under riders' feet (every redemption takes one, every
    cancel and expiry gives one back), so an edit never writes a figure read earlier over
    it: `stock_delta` adds (or removes) stock atomically, whatever it is now (restocking);
    an absolute `stock` replaces only the stock the editor saw (`stock_was`, required with
    it) — a conditional UPDATE, refused with 409 `reward.stock_changed` and the current
    figure when a redemption or a refund came in between. `stock` equal to `stock_was` (a
    form echoing a field nobody changed) leaves the stock as it is now."""
    reward = reward_in_scope(scope, reward_id)
    scope.ensure(reward.org_unit_id, "community_admin")
    if "org_unit_id" in values:
        if values["org_unit_id"] is None:  # a reward always belongs to a unit
            raise _unit_required()
        scope.ensure(values["org_unit_id"], "community_admin")
    if values.get("station_id"):  # as on create: only a station in the caller's subtree
        _station_in_scope(scope, values["station_id"])
    stock_delta = values.pop("stock_delta", None) or 0
    stock, stock_was = values.pop("stock", None), values.pop("stock_was", None)
    if stock is not None and stock == stock_was:
        stock = None  # not changed by the editor: whatever redemptions made of it stands
    if stock is not None:
        _check_stock_range(stock + stock_delta)
        if stock_was is None:
            raise DomainError(
                "reward.stock_was_required",
                "修改库存需同时提交修改前看到的库存（stock_was），以免覆盖期间的兑换；"
                "补货请用 stock_delta",
                422,
            )
    station_id = values.get("station_id", reward.station_id)
    if station_id and ("station_id" in values or "org_unit_id" in values):
        from server.stations.models import Station

        unit_id = values.get("org_unit_id") or reward.org_unit_id
        _check_station_under(db.session.get(Station, station_id), db.session.get(OrgUnit, unit_id))
    for key, value in values.items():
        setattr(reward, key, value)
    _check_window(reward.starts_at, reward.ends_at)
    db.session.flush()
    if stock is not None or stock_delta:
        _set_stock(reward.id, stock, stock_was, stock_delta)
    db.session.commit()
    db.session.refresh(reward)
    return reward


def _check_stock_range(new_stock: int) -> None:
    if new_stock < 0:
        raise _stock_out_of_range(-1)
    if new_stock > STOCK_MAX:
        raise _stock_out_of_range(+1)


def _stock_out_of_range(direction: int) -> DomainError:
    if direction < 0:
        return DomainError("reward.stock_negative", "库存不能减到 0 以下", 422)
    return DomainError("reward.stock_too_large", f"库存不能超过 {STOCK_MAX:,}", 422)


def _set_stock(reward_id: int, stock: int | None, stock_was: int | None, delta: int) -> None:
    """One conditional UPDATE of the stock (no commit; the whole edit rolls back when it is
    refused): `stock` (+ `delta`) where the stock is still `stock_was`, or the stock it
    finds plus `delta`, kept within 0…STOCK_MAX."""
    if stock is not None:
        new_stock: Any = stock + delta  # in range: checked by the caller
        conditions = [REWARDS.c.stock == stock_was]
    else:
        new_stock = REWARDS.c.stock + delta
        conditions = [new_stock >= 0, new_stock <= STOCK_MAX]
    changed = db.session.execute(
        update(REWARDS).where(REWARDS.c.id == reward_id, *conditions).values(stock=new_stock)
    ).rowcount
    if changed == 1:
        return
    if stock is None:  # the stock it found plus `delta` left 0…STOCK_MAX
        db.session.rollback()
        raise _stock_out_of_range(delta)
    current = db.session.execute(
        select(REWARDS.c.stock).where(REWARDS.c.id == reward_id)
    ).scalar_one()
    db.session.rollback()
    raise Conflict(
        "reward.stock_changed",
        f"库存已变动：您打开时是 {stock_was}，现在是 {current}（期间有兑换或退回），"
        "请按现在的库存重新填写后再保存",
        details={"stock": current, "stock_was": stock_was},
    )


def public_reward(reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise NotFound("reward.not_found", "找不到该奖品")
    return reward


def is_available(reward: Reward, now: dt.datetime | None = None) -> bool:
    """Active, in its window, and — handed over at a station — that station still open for
    business (a deactivated station's rewards are neither listed nor sold)."""
    from server.stations.models import Station

    now = now or utcnow()
    if reward.station_id is not None:
        station = db.session.get(Station, reward.station_id)
        if station is None or not station.is_active:
            return False
    return (
        reward.is_active
        and (reward.starts_at is None or reward.starts_at <= now)
        and (reward.ends_at is None or now < reward.ends_at)
    )


def catalog(user, args: dict[str, Any]):
    """Rewards a rider can see: those of their community and its units, and up the tree
    (not those of a deactivated station)."""
    from server.stations.models import Station

    now = utcnow()
    open_stations = select(Station.id).where(Station.is_active.is_(True))
    stmt = (
        select(Reward)
        .where(
            Reward.is_active.is_(True),
            Reward.station_id.is_(None) | Reward.station_id.in_(open_stations),
            (Reward.starts_at.is_(None)) | (Reward.starts_at <= now),
            (Reward.ends_at.is_(None)) | (Reward.ends_at > now),
        )
        .order_by(Reward.cost, Reward.id)
    )
    if args.get("station_id"):
        stmt = stmt.where(Reward.station_id == args["station_id"])
    unit_id = args.get("org_unit_id") or user.community_id
    if unit_id:
        path = select(OrgUnit.path).where(OrgUnit.id == unit_id).scalar_subquery()
        ancestors = select(OrgUnit.id).where(path.startswith(OrgUnit.path))
        below = select(OrgUnit.id).where(OrgUnit.path.startswith(path))
        stmt = stmt.where(Reward.org_unit_id.in_(ancestors) | Reward.org_unit_id.in_(below))
    return stmt


def admin_rewards(scope: Scope, args: dict[str, Any]):
    stmt = select(Reward).where(scope.clause(Reward.org_unit_id)).order_by(Reward.id.desc())
    if args.get("station_id"):
        stmt = stmt.where(Reward.station_id == args["station_id"])
    if args.get("is_active") is not None:
        stmt = stmt.where(Reward.is_active.is_(args["is_active"]))
    return stmt


# ------------------------------------------------------------------------ redemptions


def _by_key(user_id: int, key: str) -> Redemption | None:
    return db.session.execute(
        select(Redemption).where(Redemption.user_id == user_id, Redemption.idempotency_key == key)
    ).scalar_one_or_none()


def redeem(user, reward_id: int, key: str | None) -> tuple[Redemption, bool]:
    """Buy a reward with points: (redemption, created); a replayed key returns the first."""
    from server.notifications.services import notify

    account = None
    if key:
        existing = _by_key(user.id, key)
        if existing is not None:
            return _replay(existing, reward_id), False
        # A copy of this request may be committing right now: wait for it on the account's
        # lock and look again, before the stock and the balance it took can refuse this one.
        account = lock_account(user.id)
        existing = _by_key(user.id, key)
        if existing is not None:
            db.session.rollback()
            return _replay(existing, reward_id), False
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise NotFound("redemption.reward_not_found", "找不到该奖品")
    now = utcnow()
    if not is_available(reward, now):
        raise DomainError(
            "redemption.reward_inactive", f"「{reward.name}」已下架或不在兑换时间内", 400
        )
    if reward.stock <= 0:
        raise Conflict("redemption.out_of_stock", f"「{reward.name}」已兑完，请选择其他奖品")
    month = month_key(now)
    redemption = None
    for attempt in range(1, CODE_ATTEMPTS + 1):
        # The voucher code is also the ledger entry's source: drawn first, and on a collision
        # with another voucher's (unique) code, everything taken under it is rolled back to
        # the savepoint and taken again under a fresh one: one entry, one unit of stock.
        code = _new_code()
        savepoint = db.session.begin_nested()
        try:
            redemption = _take(user, reward, code, key, account, now, month)
        except IntegrityError:
            savepoint.rollback()
            if not _code_taken(code):
                raise
            redemption = None
        if redemption is not None:
            savepoint.commit()
            break
        if savepoint.is_active:  # the ledger has this rider's entry with that source already
            savepoint.rollback()
        log.warning(
            "voucher code taken (attempt %s of %s), drawing another", attempt, CODE_ATTEMPTS
        )
    else:  # never in practice: 31^8 codes
        db.session.rollback()
        raise DomainError("redemption.code_unavailable", "兑换码生成失败，请稍后重试", 503)
    notify(
        user.id,
        "redemption_created",
        title="兑换成功，待领取",
        body=f"您已用 {reward.cost} 积分兑换「{reward.name}」，兑换码 {code}，"
        f"请在 {isoformat(redemption.expires_at)[:10]} 前到驿站出示兑换码领取。",
        page=pages.REDEMPTIONS,
        data={**_notice(redemption, "待领取"), "code": code},
        dedupe_key=f"redemption_created:{redemption.id}",
    )
    try:
        db.session.commit()
    except IntegrityError:  # the same key raced past both checks (SQLite only)
        db.session.rollback()
        existing = _by_key(user.id, key) if key else None
        if existing is None:
            raise
        return _replay(existing, reward_id), False
    return redemption, True


def _code_taken(code: str) -> bool:
    return (
        db.session.execute(select(Redemption.id).where(Redemption.code == code)).first() is not None
    )


def _take(user, reward: Reward, code: str, key, account, now: dt.datetime, month: int):
    """Deduct the cost, check the monthly limit, take one unit of stock and insert the
    pending redemption under `code` (flushed, no commit): the redemption, or None when the
    ledger already has an entry of this rider with that code as its source. Refusals roll
    the whole transaction back and raise; a code taken by another voucher raises
    IntegrityError at the flush (the caller draws another)."""
    try:
        spent = apply_points(
            user.id,
            -reward.cost,
            reason=f"兑换「{reward.name}」",
            source_type="redemption",
            source_id=code,
            org_unit_id=reward.org_unit_id,
            account=account,
            now=now,
        )
    except InsufficientPoints as exc:
        db.session.rollback()
        balance = exc.details.get("balance", 0)
        raise DomainError(
            "redemption.insufficient_points",
            f"积分不足：「{reward.name}」需要 {reward.cost} 分，您当前有 {balance} 分",
            400,
            {"balance": balance, "cost": reward.cost},
        ) from None
    if spent.outcome != "awarded":
        return None
    if reward.monthly_limit_per_user:
        taken = db.session.execute(
            select(func.count())
            .select_from(REDEMPTIONS)
            .where(
                REDEMPTIONS.c.user_id == user.id,
                REDEMPTIONS.c.reward_id == reward.id,
                REDEMPTIONS.c.month_key == month,
                REDEMPTIONS.c.status.in_(ACTIVE),
            )
        ).scalar_one()
        if taken >= reward.monthly_limit_per_user:
            db.session.rollback()
            raise Conflict(
                "redemption.limit_reached",
                f"「{reward.name}」每人每月限兑 {reward.monthly_limit_per_user} 次，本月已达上限",
                details={"monthly_limit": reward.monthly_limit_per_user},
            )
    took = db.session.execute(
        update(REWARDS)
        .where(REWARDS.c.id == reward.id, REWARDS.c.stock > 0)
        .values(stock=REWARDS.c.stock - 1)
    ).rowcount
    if took != 1:
        db.session.rollback()
        raise Conflict("redemption.out_of_stock", f"「{reward.name}」已兑完，请选择其他奖品")
    redemption = Redemption(
        user_id=user.id,
        reward_id=reward.id,
        org_unit_id=reward.org_unit_id,
        station_id=reward.station_id,
        reward_name=reward.name,
        cost=reward.cost,
        code=code,
        status="pending",
        idempotency_key=key,
        month_key=month,
        created_at=now,
        expires_at=now + dt.timedelta(days=_expiry_days()),
    )
    db.session.add(redemption)
    db.session.flush()
    return redemption


def _replay(existing: Redemption, reward_id: int) -> Redemption:
    """The redemption a key made, for a retry of the same request; another reward under the
    same key is refused (409 `idempotency.key_reused`), not answered with the first voucher."""
    if existing.reward_id != reward_id:
        raise key_reused("兑换")
    return existing


def fulfil(scope: Scope, code: str, key: str | None = None) -> Redemption:
    """Hand the goods over: staff of the reward's community scan or type the voucher.

    With an Idempotency-Key, a retry of this hand-over (its answer lost on the way) answers
    with the fulfilled redemption — not "already fulfilled", which would have staff keep
    goods the rider has paid for; any other fulfil of a closed voucher is refused.
    """
    from server.notifications.services import notify

    redemption = voucher_in_scope(scope, code)
    if redemption.user_id == scope.user.id:  # goods leaving the stock need a second person
        raise DomainError(
            "redemption.self_fulfil", "不能核销自己的兑换码，请由其他工作人员发放", 403
        )
    if _closed_with(redemption, "fulfilled", key) and redemption.fulfilled_by_id == scope.user.id:
        return redemption
    now = utcnow()
    changed = db.session.execute(
        update(REDEMPTIONS)
        .where(
            REDEMPTIONS.c.id == redemption.id,
            REDEMPTIONS.c.status == "pending",
            REDEMPTIONS.c.expires_at > now,
        )
        .values(
            status="fulfilled",
            fulfilled_at=now,
            fulfilled_by_id=scope.user.id,
            closed_at=now,
            close_key=key,
        )
    ).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(redemption)
        if (
            _closed_with(redemption, "fulfilled", key)
            and redemption.fulfilled_by_id == scope.user.id
        ):
            return redemption  # the same hand-over, raced in twice
        if redemption.status == "pending" and redemption.expires_at <= now:
            # past its deadline, before the expiry job came by: expire it now, so that the
            # refusal's "积分已退回" is true when the staff member reads it to the rider
            if _close_and_refund(redemption.id, "expired", now) is not None:
                db.session.commit()
            else:
                db.session.rollback()
            db.session.refresh(redemption)
        raise _not_pending(redemption, now)
    notify(
        redemption.user_id,
        "redemption_fulfilled",
        title="奖品已领取",
        body=f"您兑换的「{redemption.reward_name}」已领取，感谢您为社区的付出！",
        page=pages.REDEMPTIONS,
        data=_notice(redemption, "已领取", now),
        dedupe_key=f"redemption_fulfilled:{redemption.id}",
    )
    db.session.commit()
    db.session.refresh(redemption)
    return redemption


def _not_pending(redemption: Redemption, now: dt.datetime, *, rider: bool = False) -> DomainError:
    """Why a voucher can no longer be handed over (staff) or cancelled (`rider`)."""
    if redemption.status == "fulfilled":
        if rider:
            return Conflict("redemption.already_fulfilled", "该兑换已领取，不能再取消")
        return Conflict("redemption.already_fulfilled", "该兑换码已核销，请勿重复发放")
    if redemption.status in ("cancelled", "expired") or redemption.expires_at <= now:
        return Conflict("redemption.not_pending", "该兑换已取消或过期，积分已退回")
    return Conflict("redemption.not_pending", "该兑换当前不能操作，请刷新后重试")


def voucher_in_scope(scope: Scope, code: str) -> Redemption:
    redemption = db.session.execute(
        select(Redemption).where(Redemption.code == normalise_code(code))
    ).scalar_one_or_none()
    if redemption is None:
        raise NotFound("redemption.not_found", "兑换码不存在，请核对后重新输入")
    if not _reaches(scope, db.session.get(OrgUnit, redemption.org_unit_id)):
        # a reward of a unit above (a street's) handed over at a station of this community
        station_unit = _station_unit(redemption.station_id)
        if station_unit is None or not _reaches(scope, station_unit):
            raise NotFound()
    return redemption


def voucher_lookup(scope: Scope, code: str) -> Redemption:
    """`voucher_in_scope`, with who holds it as the keeper may see it: the masked name
    (张**) and the phone's last four digits, to ask the person presenting it."""
    from server.auth.models import User
    from server.points.rankings import mask_name

    redemption = voucher_in_scope(scope, code)
    holder = db.session.get(User, redemption.user_id)
    masked = holder.phone_masked if holder is not None else None
    redemption.holder_name = mask_name(holder.display_name if holder is not None else None)
    redemption.holder_phone_tail = masked[-4:] if masked and masked[-4:].isdigit() else None
    return redemption


def _reaches(scope: Scope, unit: OrgUnit | None) -> bool:
    return unit is not None and (scope.covers(unit) or unit.is_within(_voucher_reach(scope)))


def _station_unit(station_id: int | None) -> OrgUnit | None:
    from server.stations.models import Station

    station = db.session.get(Station, station_id) if station_id else None
    return db.session.get(OrgUnit, station.org_unit_id) if station else None


def _voucher_reach(scope: Scope) -> OrgUnit:
    """Vouchers are handed over at the stations of a community, by its staff: a grid
    worker bound to one of its grids (or to a micro-grid below one) reaches the vouchers of
    the whole community (its catalog's rewards, and its other grids' stations); others
    reach their own subtree. A voucher is also in reach when the station it is handed over
    at is (a street's reward at a community's station)."""
    unit = scope.unit
    while unit.level in ("grid", "micro_grid") and unit.parent_id is not None:
        unit = db.session.get(OrgUnit, unit.parent_id)
    return unit


def _closed_with(redemption: Redemption, status: str, key: str | None) -> bool:
    """The redemption was closed (`status`) by the request with this Idempotency-Key."""
    return key is not None and redemption.status == status and redemption.close_key == key


def _close_and_refund(
    redemption_id: int, status: str, now: dt.datetime, *, key: str | None = None
) -> Redemption | None:
    """Move a pending redemption to cancelled/expired and refund points and stock (no commit)."""
    conditions = [REDEMPTIONS.c.id == redemption_id, REDEMPTIONS.c.status == "pending"]
    if status == "expired":
        conditions.append(REDEMPTIONS.c.expires_at <= now)
    changed = db.session.execute(
        update(REDEMPTIONS).where(*conditions).values(status=status, closed_at=now, close_key=key)
    ).rowcount
    if changed != 1:
        return None
    redemption = db.session.get(Redemption, redemption_id)
    db.session.refresh(redemption)
    word = "取消" if status == "cancelled" else "过期"
    apply_points(
        redemption.user_id,
        redemption.cost,
        reason=f"兑换{word}退回「{redemption.reward_name}」",
        source_type="redemption_refund",
        source_id=redemption.code,
        org_unit_id=redemption.org_unit_id,
    )
    # The unit comes back to the shelf, within STOCK_MAX (a restock may have filled it up
    # meanwhile); the points above come back whatever the stock.
    restocked = db.session.execute(
        update(REWARDS)
        .where(REWARDS.c.id == redemption.reward_id, REWARDS.c.stock < STOCK_MAX)
        .values(stock=REWARDS.c.stock + 1)
    ).rowcount
    if restocked != 1:
        log.info(
            "reward %s at the stock maximum: refund of %s not restocked",
            redemption.reward_id,
            redemption.id,
        )
    from server.notifications.services import notify

    notify(
        redemption.user_id,
        "redemption_refunded",
        title=f"兑换已{word}，积分已退回",
        body=f"您兑换的「{redemption.reward_name}」已{word}，"
        f"{redemption.cost} 积分已退回您的账户。",
        page="pages/points/index",
        data={**_notice(redemption, f"已{word}退回", now), "refunded": redemption.cost},
        dedupe_key=f"redemption_refunded:{redemption.id}",
    )
    return redemption


def cancel(user, redemption_id: int, key: str | None = None) -> Redemption:
    """The rider cancels a pending redemption: points and stock come back.

    With an Idempotency-Key, a retry of this cancel (the first answer lost on the way)
    answers with the cancelled redemption and changes nothing; any other cancel of a
    redemption that is no longer pending is refused.
    """
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None or redemption.user_id != user.id:
        raise NotFound("redemption.not_found", "找不到该兑换记录")
    if _closed_with(redemption, "cancelled", key):
        return redemption
    now = utcnow()
    closed = _close_and_refund(redemption.id, "cancelled", now, key=key)
    if closed is None:
        db.session.rollback()
        db.session.refresh(redemption)
        if _closed_with(redemption, "cancelled", key):  # the same cancel, raced in twice
            return redemption
        raise _not_pending(redemption, now, rider=True)
    db.session.commit()
    db.session.refresh(closed)
    return closed


ACCOUNT_CLOSURE = "account_closure"  # the forfeit's source type; its source id: the user's


def on_account_cancelled(user) -> None:
    """Account cancellation (server/auth/cancellation.py), in the caller's transaction: each
    pending voucher is cancelled as the rider's own cancel does (points and stock back), then
    what is left of the balance is forfeited by one compensating entry (reason 账号注销)
    whose business key (user, account_closure, user id) makes a retry forfeit nothing more.
    The forfeit is made under the account row's lock, and the pending vouchers are looked for
    again under it: a redemption or check-in racing this is serialised before or after it.
    The user leaves the rankings once this commits."""
    from server.points import rankings

    now = utcnow()

    def cancel_pending() -> None:
        pending = db.session.execute(
            select(REDEMPTIONS.c.id)
            .where(REDEMPTIONS.c.user_id == user.id, REDEMPTIONS.c.status == "pending")
            .order_by(REDEMPTIONS.c.id)
        ).scalars()
        for redemption_id in list(pending):
            # the voucher's row, then the account's: the order the rider's cancel and the
            # expiry job take them in
            _close_and_refund(redemption_id, "cancelled", now)

    cancel_pending()
    lock_account(user.id)
    cancel_pending()  # one bought before the lock was ours
    balance = lock_account(user.id).balance
    if balance > 0:
        apply_points(
            user.id,
            -balance,
            reason="账号注销",
            source_type=ACCOUNT_CLOSURE,
            source_id=user.id,
            org_unit_id=user.community_id,
            now=now,
        )
    rankings.after_commit_move(user.id, user.community_id, None)
    redis_after_commit(lambda pipe: pipe.hdel(rankings.NAMES_KEY, str(user.id)))


# A run of the hourly job works through its backlog batch by batch for at most this long
# (the job's timeout is 600 s); what is left waits for the next run, oldest first.
JOB_BUDGET_S = 300.0


def _batches(query, batch: int, budget_s: float):
    """Ids from `query(skip, limit)`, a batch at a time, until a batch comes back short or
    the time budget is spent; ids the caller marks failed (`skip`) are not read again."""
    deadline = time.monotonic() + budget_s
    skip: set[int] = set()
    while True:
        ids = list(db.session.execute(query(skip, batch)).scalars())
        yield ids, skip
        if len(ids) < batch or time.monotonic() >= deadline:
            return


def expire_due(batch: int = 200, budget_s: float = JOB_BUDGET_S) -> int:
    """Expire pending redemptions past their deadline, oldest first, one transaction each;
    the whole backlog (within the time budget), not one batch."""
    now = utcnow()
    count = 0

    def due(skip: set[int], limit: int):
        return (
            select(REDEMPTIONS.c.id)
            .where(
                REDEMPTIONS.c.status == "pending",
                REDEMPTIONS.c.expires_at <= now,
                REDEMPTIONS.c.id.not_in(skip),
            )
            .order_by(REDEMPTIONS.c.expires_at, REDEMPTIONS.c.id)
            .limit(limit)
        )

    for ids, failed in _batches(due, batch, budget_s):
        for redemption_id in ids:
            try:
                if _close_and_refund(redemption_id, "expired", now) is not None:
                    count += 1
                db.session.commit()
            except Exception:
                db.session.rollback()
                failed.add(redemption_id)
                log.exception("expiring redemption %s failed", redemption_id)
    return count


def remind_expiring(
    within_hours: int = 24, batch: int = 500, budget_s: float = JOB_BUDGET_S
) -> int:
    """Remind riders once, a day before their pending redemption expires: soonest first,
    every one in the window (within the time budget)."""
    now = utcnow()
    count = 0

    def unreminded(skip: set[int], limit: int):
        return (
            select(Redemption)
            .where(
                Redemption.status == "pending",
                Redemption.expiry_notified_at.is_(None),
                Redemption.expires_at > now,
                Redemption.expires_at <= now + dt.timedelta(hours=within_hours),
                Redemption.id.not_in(skip),
            )
            .order_by(Redemption.expires_at, Redemption.id)
            .limit(limit)
        )

    for rows, _ in _batches(unreminded, batch, budget_s):
        count += _remind(rows, now)
    return count


def _remind(rows: list[Redemption], now: dt.datetime) -> int:
    from server.notifications.services import notify

    count = 0
    for redemption in rows:
        claimed = db.session.execute(
            update(REDEMPTIONS)
            .where(REDEMPTIONS.c.id == redemption.id, REDEMPTIONS.c.expiry_notified_at.is_(None))
            .values(expiry_notified_at=now)
        ).rowcount
        if claimed == 1:
            notify(
                redemption.user_id,
                "redemption_expiring",
                title="兑换即将过期",
                body=f"您兑换的「{redemption.reward_name}」将于 "
                f"{isoformat(redemption.expires_at)[:16].replace('T', ' ')} 过期，"
                f"请尽快到驿站出示兑换码 {redemption.code} 领取；过期后积分自动退回。",
                page=pages.REDEMPTIONS,
                data=_notice(redemption, "即将过期"),
                dedupe_key=f"redemption_expiring:{redemption.id}",
            )
            count += 1
        db.session.commit()
    return count


def my_redemptions(user_id: int, status: str | None):
    stmt = select(Redemption).where(Redemption.user_id == user_id).order_by(Redemption.id.desc())
    if status:
        stmt = stmt.where(Redemption.status == status)
    return stmt


def admin_redemptions(scope: Scope, args: dict[str, Any]):
    """The vouchers a staff member may look up and hand over (`_voucher_reach`): a grid
    worker sees the pending vouchers of their community, as they can fulfil them."""
    from server.stations.models import Station

    reach = _voucher_reach(scope)

    def in_reach(unit_column):
        if reach is scope.unit:
            return scope.clause(unit_column)
        below = select(OrgUnit.id).where(OrgUnit.path.startswith(reach.path, autoescape=True))
        return unit_column.in_(below)

    # the vouchers of rewards in reach, and those handed over at a station in reach
    where = in_reach(Redemption.org_unit_id) | Redemption.station_id.in_(
        select(Station.id).where(in_reach(Station.org_unit_id))
    )
    stmt = select(Redemption).where(where).order_by(Redemption.id.desc())
    for field in ("status", "reward_id", "station_id", "user_id"):
        if args.get(field):
            stmt = stmt.where(getattr(Redemption, field) == args[field])
    if args.get("code"):
        stmt = stmt.where(Redemption.code == normalise_code(args["code"]))
    return stmt

"""QR check-in at a station: the anti-cheating checks, the award, and the attempt log.

Order of the checks (the first failure answers): rate limit → scene (malformed, unknown
station, forged or rotated) → station inactive → rider not registered → location accuracy
→ distance → impossible travel since the previous check-in → closed now → already rewarded
here today → daily cap. Every refusal is recorded with its reason (a rate-limited burst
records its first refusal per minute only, so a flood cannot fill the table).

Checking in while the station is closed is allowed and recorded (status "closed") but
earns nothing and does not use up the day's reward at that station: the rider may come
back when it is open. The reward is awarded once per (rider, station, Shanghai day): a
Redis day key, read in the request's first round trip and set after the commit, turns most
duplicates away cheaply, and the ledger's unique business key (`checkin`,
"<station>:<yyyymmdd>") is the real gate, race-safe without Redis.

A retry with the same Idempotency-Key (the mini-program sends one with every check-in and
reuses it after a network failure) answers with the stored check-in, changing nothing and
whatever the rate limit says. A marker set after the commit lets the first round trip know
which keys are stored, so a new check-in does not look for its key in the database; a
retry Redis does not know of still finds its row (the day's award is then a duplicate, or
the check-in row's unique key refuses the second insert).

Cost (bench/README.md): one Redis round trip before the checks (the rider's principal
record, rate counter, the station and rule caches' versions, the day key, the
Idempotency-Key marker), the station and the earning rule from the per-process caches; in
the database the account row's lock (which also answers the impossible-travel check and
the daily cap), the ledger entry, the account update and the check-in row; after the
commit one Redis pipeline (rankings, day key, key marker).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError

from server.clock import local_today, utcnow
from server.csv_safe import EXPORT_MAX_ROWS
from server.errors import DomainError
from server.extensions import db, get_redis, redis_after_commit
from server.geo import distance_m
from server.http import key_reused
from server.points.services import (
    RULES_CACHE,
    account_summary,
    apply_points,
    lock_account,
    move_rider,
    rule_config,
)
from server.stations import catalog
from server.stations import hours as opening
from server.stations.models import CheckIn, Station
from server.stations.scenes import SceneInvalid, parse_scene, verify_scene

CHECKINS = CheckIn.__table__
# Built once (building a statement costs more CPU than running it).
_PREVIOUS = (
    select(CHECKINS.c.lat, CHECKINS.c.lng, CHECKINS.c.created_at)
    .where(CHECKINS.c.user_id == bindparam("uid"), CHECKINS.c.status != "refused")
    .order_by(CHECKINS.c.id.desc())
    .limit(1)
)
_INSERT = insert(CHECKINS).returning(CHECKINS.c.id)
MAX_SPEED_KMH = 60.0
MIN_TRAVEL_CHECK_M = 1000.0


class CheckinRefused(DomainError):
    status = 400

    def __init__(self, code, message, status=None, details=None, *, record=True):
        super().__init__(code, message, status, details)
        self.record = record


def _settings() -> tuple[int, float]:
    config = current_app.config
    return (
        int(config.get("CHECKIN_RATE_PER_MINUTE", 10)),
        float(config.get("CHECKIN_MAX_ACCURACY_M", 150)),
    )


def _done_key(user_id: int, station_id: int, today: dt.date) -> str:
    return f"ci:done:{user_id}:{station_id}:{today:%Y%m%d}"


def _key_seen(user_id: int, key: str) -> str:
    """Set after a check-in that stored this Idempotency-Key commits: a retry replays."""
    return f"ci:key:{user_id}:{key}"


SEEN_TTL_S = 2 * 24 * 3600


def _gate(claims, now: dt.datetime, done_key: str | None, key: str | None):
    """One round trip before anything else: the caller's principal record, the per-minute
    attempt counter, the station and rule caches' versions, whether the day's reward here
    is known to be taken and whether this Idempotency-Key is known to be stored.
    Returns (principal, attempts this minute, taken, seen); 401 for a revoked token."""
    window = int(now.timestamp()) // 60
    counter = f"ci:rl:{claims.user_id}:{window}"
    pipe = get_redis().pipeline(transaction=False)
    pipe.get(claims.principal_key())
    pipe.incr(counter)
    pipe.expire(counter, 120)
    catalog.CACHE.add_version_read(pipe)
    RULES_CACHE.add_version_read(pipe)
    if done_key:
        pipe.exists(done_key)
    if key:
        pipe.exists(_key_seen(claims.user_id, key))
    record, count, _, stations_version, rules_version, *flags = pipe.execute()
    user = claims.accept(record)
    catalog.CACHE.sync(stations_version)
    RULES_CACHE.sync(rules_version)
    taken = bool(flags.pop(0)) if done_key else False
    seen = bool(flags.pop(0)) if key else False
    return user, count, taken, seen


def _rate_limit(count: int, per_minute: int, now: dt.datetime) -> None:
    if count > per_minute:
        window = int(now.timestamp()) // 60
        refusal = CheckinRefused(
            "checkin.rate_limited",
            "打卡太频繁了，请一分钟后再试",
            429,
            {"limit_per_minute": per_minute},
            record=count == per_minute + 1,
        )
        refusal.retry_after = max(1, (window + 1) * 60 - int(now.timestamp()))
        raise refusal


def _station_view(station: dict[str, Any], is_open: bool) -> dict[str, Any]:
    return {
        "id": station["id"],
        "name": station["name"],
        "kind": station["kind"],
        "kind_name": station["kind_name"],
        "address": station["address"],
        "services": station["services"],
        "service_names": station["service_names"],
        "opening_hours": station["opening_hours"],
        "is_open_now": is_open,
        "contact_phone": station["contact_phone"],
    }


def _message(station_name: str, points: int, is_open: bool) -> str:
    """What the rider reads after a check-in (and again on its replay)."""
    if not is_open:
        return f"打卡已记录；{station_name}现在不在营业时间，本次不计积分"
    return f"打卡成功，获得 {points} 积分" if points else "打卡成功"


def _replay(user, key: str, station_id: int | None) -> dict[str, Any] | None:
    """The first answer of the check-in this key made; None if it made none. The same key
    with another station's code is another request: 409 `idempotency.key_reused` (the
    position may differ on a retry: the rider moves)."""
    checkin = db.session.execute(
        select(CheckIn).where(
            CheckIn.user_id == user.id,
            CheckIn.idempotency_key == key,
        )
    ).scalar_one_or_none()
    if checkin is None:
        return None
    if checkin.station_id != station_id:
        raise key_reused("打卡")
    catalog.CACHE.ensure_fresh()
    station = catalog.station(checkin.station_id)
    return {
        "checkin": _row_of(checkin, station["name"]),  # the first answer's shape
        "points_awarded": checkin.points_awarded,
        "balance": account_summary(user.id)["balance"],
        "station": _station_view(station, opening.is_open(station["opening_hours"])),
        "message": _message(station["name"], checkin.points_awarded, checkin.status != "closed"),
        "replayed": True,
    }


def perform_check_in(claims, scene: str, lat: float, lng: float, accuracy: float, key=None):
    """Check the rider in at the station named by a scanned scene; award the day's points.

    `claims`: the caller's checked token (`guards.token_required`); their principal record
    is read in the check-in's first Redis round trip.
    """
    now = utcnow()
    today = local_today(now)
    attempt: dict[str, Any] = {
        "user_id": claims.user_id,
        "org_unit_id": None,
        "lat": lat,
        "lng": lng,
        "accuracy": accuracy,
        "scene": (scene or "")[:64],
        "day": today,
        "created_at": now,
    }
    try:
        kind, station_id, _ = parse_scene(scene)
    except SceneInvalid:
        kind = station_id = None
    done_key = _done_key(claims.user_id, station_id, today) if kind == "s" else None
    user, count, taken, seen = _gate(claims, now, done_key, key)  # 401 first
    attempt["org_unit_id"] = user.community_id
    per_minute = _settings()[0]
    try:
        if seen:  # a retry of a stored check-in: its first answer, whatever the rate
            replay = _replay(user, key, station_id)
            if replay is not None:
                return replay
        _rate_limit(count, per_minute, now)  # then the rate limit answers first
        result = _check_in(
            user, kind, station_id, scene, lat, lng, accuracy, key, now, today, attempt, taken
        )
    except IntegrityError:  # the same Idempotency-Key raced in twice: answer with the first
        db.session.rollback()
        replay = _replay(user, key, station_id) if key else None
        if replay is None:
            raise
        return replay
    except CheckinRefused as refusal:
        db.session.rollback()
        if key and refusal.code == "checkin.already_checked_in":
            # a retry that Redis did not know of (expired, lost)
            replay = _replay(user, key, station_id)
            if replay is not None:
                return replay
        if refusal.record:
            details = dict(refusal.details)
            attempt.pop("idempotency_key", None)
            db.session.execute(
                insert(CHECKINS).values(
                    status="refused",
                    reason=refusal.code.removeprefix("checkin."),
                    points_awarded=0,
                    details=details or None,
                    **attempt,
                )
            )
            db.session.commit()
        _count(refusal.code)
        raise
    _count(result["checkin"]["status"])  # committed: "ok", or "closed" (recorded, no points)
    return result


def _count(outcome: str) -> None:
    from server.ops.metrics import CHECKINS

    CHECKINS.labels(outcome=outcome).inc()


def _since_last(seconds: float) -> str:
    """How long since the previous check-in, as a rider reads it: never "0 分钟"."""
    return (
        "距上次打卡不到 1 分钟" if seconds < 60 else f"距上次打卡仅 {math.floor(seconds / 60)} 分钟"
    )


ACCURACY_SHOWN_MAX_M = 100_000


def _check_in(user, kind, station_id, scene, lat, lng, accuracy, key, now, today, attempt, taken):
    max_accuracy = _settings()[1]
    if kind is None:
        raise CheckinRefused("checkin.invalid_scene", "无法识别的二维码，请扫描驿站张贴的打卡码")
    if kind != "s":
        raise CheckinRefused("checkin.invalid_scene", "这不是驿站打卡码；活动签到请在活动页面扫码")
    station = catalog.station(station_id)
    if station is None or not verify_scene(scene, station["qr_secret"]):
        if station is not None:
            attempt["station_id"] = station["id"]
            attempt["org_unit_id"] = station["org_unit_id"]
        raise CheckinRefused(
            "checkin.invalid_scene",
            "该二维码无效或已更换，请扫描驿站现场张贴的最新二维码",
        )
    attempt["station_id"] = station["id"]
    attempt["org_unit_id"] = station["org_unit_id"]
    name = station["name"]
    if not station["is_active"]:
        raise CheckinRefused("checkin.station_inactive", f"{name}已停用，暂不能打卡")
    if user.community_id is None:
        raise CheckinRefused(
            "checkin.not_registered",
            "您还没有在社区报到，请先到「我的 → 社区报到」选择所在社区后再打卡",
            403,
        )
    if accuracy > max_accuracy:
        # rounded up: 150.4 m against 150 must not read "150" (what is allowed); capped: an
        # absurd figure from a tampered client (1e300 is valid JSON) is just "very poor"
        shown = min(math.ceil(accuracy), ACCURACY_SHOWN_MAX_M)
        raise CheckinRefused(
            "checkin.poor_accuracy",
            f"定位精度不足（约 {shown} 米），请到开阔处、打开 GPS 后重新扫码",
            details={"accuracy_m": shown, "max_accuracy_m": round(max_accuracy)},
        )
    distance = distance_m(lat, lng, station["lat"], station["lng"])
    attempt["distance_m"] = round(distance, 1)
    radius = station["checkin_radius_m"]
    if distance > radius:
        raise CheckinRefused(
            "checkin.out_of_range",
            f"您距离{name}约 {math.ceil(distance)} 米，请到站后（{radius} 米内）再扫码",
            details={"distance_m": math.ceil(distance), "radius_m": radius},
        )
    # This rider's check-ins and awards, one at a time from here: the account row's lock.
    account = lock_account(user.id)
    previous = _previous(user.id, account)
    if previous is not None:
        moved = distance_m(previous[0], previous[1], lat, lng)
        seconds = max((now - previous[2]).total_seconds(), 1.0)
        speed = moved / seconds * 3.6
        if moved > MIN_TRAVEL_CHECK_M and speed > MAX_SPEED_KMH:
            raise CheckinRefused(
                "checkin.impossible_travel",
                f"{_since_last(seconds)}却相距 {moved / 1000:.1f} 公里，"
                "位置异常，请稍后在驿站现场重新扫码",
                details={"distance_m": round(moved), "speed_kmh": round(speed)},
            )
    is_open = opening.is_open(station["opening_hours"], now)
    attempt["idempotency_key"] = key
    conn = db.session.connection()
    if not is_open:
        move_rider(user.id, lat, lng, now)
        checkin_id = conn.execute(
            _INSERT, {"status": "closed", "points_awarded": 0, **attempt}
        ).scalar_one()
        _after_commit(user.id, key, None)
        db.session.commit()
        return _result(user, station, checkin_id, 0, account.balance, False, attempt)

    station_id, unit_id = station["id"], station["org_unit_id"]
    already = CheckinRefused(
        "checkin.already_checked_in",
        f"您今天已在{name}打过卡，明天再来吧",
        409,
    )
    if taken:
        raise already  # a retry of that award was answered from its row (`seen`) already
    # The day key only turns most duplicates away early; the ledger's unique key decides.
    # A retry Redis does not know of (the first request still committing, the keys lost)
    # ends here as a duplicate too, and answers with the first result from its row.
    config = rule_config(unit_id, "checkin")
    award = apply_points(
        user.id,
        config.points,
        reason=f"{name}打卡",
        source_type="checkin",
        source_id=f"{station_id}:{today:%Y%m%d}",
        org_unit_id=unit_id,
        rule="checkin",
        points_rule=config,
        user_units=(user.community_id, user.street_id),
        account=account,
        checkin=(lat, lng),
        now=now,  # the day of the source key, the row and the Redis day key: one day
    )
    if award.outcome == "duplicate":
        raise already
    if award.outcome == "capped":
        raise CheckinRefused(
            "checkin.daily_cap_reached",
            f"今天的打卡积分已达上限（{config.daily_cap} 分），明天再来吧",
            details={"daily_cap": config.daily_cap},
        )
    points = award.delta
    checkin_id = conn.execute(
        _INSERT, {"status": "ok", "points_awarded": points, **attempt}
    ).scalar_one()
    _after_commit(user.id, key, _done_key(user.id, station_id, today))
    db.session.commit()
    return _result(user, station, checkin_id, points, award.balance, True, attempt)


def _after_commit(user_id: int, key: str | None, done_key: str | None) -> None:
    """What the gate reads next time, written once the check-in has committed."""

    def mark(pipe):
        if done_key:
            pipe.set(done_key, "1", ex=SEEN_TTL_S)
        if key:
            pipe.set(_key_seen(user_id, key), "1", ex=SEEN_TTL_S)

    if done_key or key:
        redis_after_commit(mark)


def _previous(user_id: int, account) -> tuple[float, float, dt.datetime] | None:
    """Where and when the rider last checked in (ok or closed): from the locked account
    row, or from the check-ins when the row does not know (older than that column)."""
    if account.last_checkin_at is not None:
        return account.last_checkin_lat, account.last_checkin_lng, account.last_checkin_at
    row = db.session.connection().execute(_PREVIOUS, {"uid": user_id}).first()
    return None if row is None or row.lat is None else (row.lat, row.lng, row.created_at)


def _result(user, station, checkin_id, points, balance, is_open, attempt) -> dict[str, Any]:
    if balance is None:
        balance = account_summary(user.id)["balance"]
    checkin = {
        "id": checkin_id,
        "station_id": station["id"],
        "station_name": station["name"],
        "status": "ok" if is_open else "closed",
        "reason": None,
        "points_awarded": points,
        "distance_m": attempt.get("distance_m"),
        "created_at": attempt["created_at"],
    }
    return {
        "checkin": checkin,
        "points_awarded": points,
        "balance": balance,
        "station": _station_view(station, is_open),
        "message": _message(station["name"], points, is_open),
        "replayed": False,
    }


def my_checkins(user_id: int):
    return select(CheckIn).where(CheckIn.user_id == user_id).order_by(CheckIn.id.desc())


def admin_checkins(scope, args: dict[str, Any]):
    """Check-ins and refused attempts in the caller's subtree, filtered."""
    stmt = select(CheckIn).where(scope.clause(CheckIn.org_unit_id)).order_by(CheckIn.id.desc())
    if args.get("station_id"):
        stmt = stmt.where(CheckIn.station_id == args["station_id"])
    if args.get("user_id"):
        stmt = stmt.where(CheckIn.user_id == args["user_id"])
    if args.get("status"):
        stmt = stmt.where(CheckIn.status == args["status"])
    if args.get("reason"):
        stmt = stmt.where(CheckIn.reason == args["reason"])
    if args.get("date_from"):
        stmt = stmt.where(CheckIn.day >= args["date_from"])
    if args.get("date_to"):
        stmt = stmt.where(CheckIn.day <= args["date_to"])
    return stmt


def with_station_names(items: list[CheckIn]) -> list[dict[str, Any]]:
    """Check-in rows as dicts with their station's name (one query for the page)."""
    ids = {c.station_id for c in items if c.station_id}
    names = {}
    if ids:
        names = dict(
            db.session.execute(select(Station.id, Station.name).where(Station.id.in_(ids))).all()
        )
    return [_row_of(checkin, names.get(checkin.station_id)) for checkin in items]


def _row_of(checkin: CheckIn, station_name: str | None) -> dict[str, Any]:
    row = {column.name: getattr(checkin, column.name) for column in CHECKINS.columns}
    row["station_name"] = station_name
    return row


CSV_MAX_ROWS = EXPORT_MAX_ROWS
CSV_COLUMNS = (
    ("id", "编号"),
    ("created_at", "时间"),
    ("user_id", "用户ID"),
    ("station_id", "驿站ID"),
    ("station_name", "驿站"),
    ("status", "结果"),
    ("reason", "拒绝原因"),
    ("points_awarded", "积分"),
    ("distance_m", "距离(米)"),
    ("accuracy", "定位精度(米)"),
    ("lat", "纬度"),
    ("lng", "经度"),
)


def export_csv(stmt) -> str:
    """The filtered check-ins as CSV (UTF-8 with a BOM so Excel shows the Chinese).

    Every text cell goes through `safe_row`: a station name such as `=HYPERLINK(…)` (free
    text of a community admin) is shown as text by Excel/WPS, not run as a formula."""
    import csv
    import io

    from server.clock import isoformat
    from server.csv_safe import safe_row, within_export_limit

    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(safe_row(title for _, title in CSV_COLUMNS))
    # counted first, over ids only (an index-only scan): loading 50,001 whole rows only to
    # refuse them cost far more than the refusal
    over = stmt.order_by(None).with_only_columns(CheckIn.id).limit(CSV_MAX_ROWS + 1).subquery()
    counted = db.session.execute(select(func.count()).select_from(over)).scalar_one()
    within_export_limit(range(counted), CSV_MAX_ROWS)
    batch: list[CheckIn] = list(db.session.execute(stmt.limit(CSV_MAX_ROWS)).scalars())
    for row in with_station_names(batch):
        row["created_at"] = isoformat(row["created_at"])
        writer.writerow(safe_row("" if row[c] is None else row[c] for c, _ in CSV_COLUMNS))
    return buffer.getvalue()

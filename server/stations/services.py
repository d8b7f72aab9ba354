"""Stations: staff management, the nearby search (Redis GEO) and QR codes."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select

from server.auth.guards import Scope
from server.cache import ensure_announced
from server.clock import local, utcnow
from server.errors import DomainError, NotFound
from server.extensions import db, get_redis, redis_after_commit
from server.org.models import OrgUnit, subtree_ids
from server.stations import catalog
from server.stations import hours as opening
from server.stations.models import KINDS, SERVICES, Station
from server.stations.scenes import make_scene, new_secret

log = logging.getLogger(__name__)

GEO_KEY = "st:geo"
GEO_BUILT = "st:geo:built"
# The index is rebuilt from the database at least this often (its marker expires): a
# station change whose Redis write was lost shows in nearby searches within this time.
GEO_INDEX_TTL_S = 3600
NEARBY_DEFAULT_RADIUS_M = 3000
NEARBY_MAX_RADIUS_M = 50_000
NEARBY_SCAN = 300  # candidates read from the GEO index before filtering by service/open
# ...and at most this many when those hold too few matches: a filter nothing nearby
# matches must not read every station within 50 km on an unauthenticated request
NEARBY_SCAN_MAX = 1200

STATION_FIELDS = (
    "org_unit_id",
    "name",
    "kind",
    "address",
    "lat",
    "lng",
    "services",
    "opening_hours",
    "contact_name",
    "contact_phone",
    "checkin_radius_m",
    "is_active",
    "photos",
    "description",
)


def _check_fields(values: dict[str, Any]) -> dict[str, Any]:
    if "kind" in values and values["kind"] not in KINDS:
        raise DomainError(
            "station.invalid_kind",
            "驿站类型无效，应为：" + "、".join(f"{k}（{v}）" for k, v in KINDS.items()),
            422,
        )
    if "services" in values:
        unknown = [s for s in values["services"] if s not in SERVICES]
        if unknown:
            raise DomainError(
                "station.invalid_service",
                f"未知的服务项目：{', '.join(unknown)}",
                422,
                {"valid": list(SERVICES)},
            )
        values["services"] = list(dict.fromkeys(values["services"]))
    if "opening_hours" in values:
        try:
            values["opening_hours"] = opening.validate(values["opening_hours"])
        except ValueError as exc:
            raise DomainError("station.invalid_hours", str(exc), 422) from None
    return values


def _check_level(unit) -> None:
    if unit.level not in ("community", "grid", "micro_grid", "street"):
        raise DomainError("station.invalid_unit", "驿站应属于街道、社区或网格", 422)


def _check_move(station: Station, unit) -> None:
    """A station moves to another unit only to one its own level allows, and not away from
    the unit of a reward handed over there or of a voucher still to be collected there
    (their riders, and the staff who fulfil them, would lose it)."""
    from server.points.models import Redemption, Reward

    _check_level(unit)
    reward_units = select(Reward.org_unit_id).where(Reward.station_id == station.id)
    pending = select(Redemption.org_unit_id).where(
        Redemption.station_id == station.id, Redemption.status == "pending"
    )
    for holder in db.session.execute(
        select(OrgUnit).where(OrgUnit.id.in_(reward_units.union(pending)))
    ).scalars():
        if not unit.is_within(holder):
            raise DomainError(
                "station.has_rewards",
                f"该驿站还有「{holder.name}」的奖品或待领取的兑换，"
                "请先调整这些奖品、等兑换领取或过期后再迁移驿站",
                409,
            )


def create_station(scope: Scope, values: dict[str, Any]) -> Station:
    """Add a station to a unit in the caller's subtree (community admins and above)."""
    _check_level(scope.ensure(values["org_unit_id"], "community_admin"))
    values = _check_fields(dict(values))
    station = Station(qr_secret=new_secret(), **{k: values[k] for k in values})
    db.session.add(station)
    db.session.flush()
    sync_geo(station)
    db.session.commit()
    return station


def station_in_scope(scope: Scope, station_id: int, min_role: str | None = None) -> Station:
    station = db.session.get(Station, station_id)
    if station is None:
        raise NotFound("station.not_found", "找不到该驿站")
    scope.ensure(station.org_unit_id, min_role)
    return station


def update_station(scope: Scope, station_id: int, values: dict[str, Any]) -> Station:
    """Edit a station (moving it keeps it inside the caller's subtree)."""
    station = station_in_scope(scope, station_id, "community_admin")
    if "org_unit_id" in values and values["org_unit_id"] != station.org_unit_id:
        _check_move(station, scope.ensure(values["org_unit_id"], "community_admin"))
    values = _check_fields(dict(values))
    for key, value in values.items():
        setattr(station, key, value)
    sync_geo(station)
    db.session.commit()
    # a deactivation, a moved position or radius: every worker must check in by it now
    ensure_announced(
        "驿站信息已保存，但暂时未能通知所有服务器，几分钟内部分打卡可能仍按旧信息处理；"
        "请稍后再保存一次"
    )
    return station


def rotate_qr(scope: Scope, station_id: int) -> Station:
    """A new QR secret: every code printed before stops working."""
    station = station_in_scope(scope, station_id, "community_admin")
    station.qr_secret = new_secret()
    station.qr_rotated_at = utcnow()
    db.session.commit()
    log.info("station QR rotated", extra={"station_id": station.id})
    # the old code must die everywhere, not when each worker's copy ages out
    ensure_announced(
        "二维码已更换，但暂时未能通知所有服务器，旧码几分钟内可能仍可打卡；"
        "请稍后再更换一次（以最后一次更换的二维码为准）"
    )
    return station


def scene_of(station: Station) -> str:
    return make_scene("s", station.id, station.qr_secret)


def list_stations(scope: Scope, args: dict[str, Any]):
    stmt = select(Station).where(scope.clause(Station.org_unit_id)).order_by(Station.id)
    if args.get("org_unit_id"):
        unit = scope.ensure(args["org_unit_id"])
        stmt = stmt.where(Station.org_unit_id.in_(subtree_ids(unit)))
    if args.get("is_active") is not None:
        stmt = stmt.where(Station.is_active.is_(args["is_active"]))
    if args.get("q"):
        stmt = stmt.where(Station.name.contains(args["q"], autoescape=True))
    return stmt


def public_station(station_id: int) -> Station:
    station = db.session.get(Station, station_id)
    if station is None or not station.is_active:
        raise NotFound("station.not_found", "找不到该驿站，可能已停用")
    return station


# ------------------------------------------------------------------------ geo index


def sync_geo(station: Station) -> None:
    """Keep the GEO index in step with one station, once the transaction that changes it
    commits (`redis_after_commit`: a Redis failure then is logged, the change stays saved
    and the staff member is not asked to retry a create that went through). A write lost
    that way is repaired when the index is next rebuilt: its marker lives GEO_INDEX_TTL_S.
    Without the marker the write is harmless: the next search rebuilds over it."""
    sid, lng, lat, active = station.id, station.lng, station.lat, station.is_active

    def write(pipe) -> None:
        if active:
            pipe.geoadd(GEO_KEY, (lng, lat, sid))
        else:
            pipe.zrem(GEO_KEY, sid)

    redis_after_commit(write)


def rebuild_geo() -> int:
    rows = db.session.execute(
        select(Station.id, Station.lng, Station.lat).where(Station.is_active.is_(True))
    ).all()
    redis = get_redis()
    temp = f"{GEO_KEY}:building:{utcnow().timestamp()}"
    pipe = redis.pipeline(transaction=True)
    if rows:
        values: list[Any] = []
        for sid, lng, lat in rows:
            values.extend((lng, lat, sid))
        pipe.geoadd(temp, values)
        pipe.rename(temp, GEO_KEY)
    else:
        pipe.delete(GEO_KEY)
    pipe.set(GEO_BUILT, "1", ex=GEO_INDEX_TTL_S)
    pipe.execute()
    return len(rows)


# One command for a search: the three replies as one (a pipeline of three costs the worker
# three commands to pack and three replies to parse, and redis-py's GEOSEARCH reply
# callback a function call per value). KEYS: the index's built marker, the index, the
# station cache's version; ARGV: longitude, latitude, radius in metres, how many.
_SEARCH = """
return {redis.call('EXISTS', KEYS[1]),
        redis.call('GEOSEARCH', KEYS[2], 'FROMLONLAT', ARGV[1], ARGV[2], 'BYRADIUS', ARGV[3],
                   'm', 'ASC', 'COUNT', ARGV[4], 'WITHDIST'),
        redis.call('GET', KEYS[3])}
"""


def nearby(
    lat: float,
    lng: float,
    radius_m: int | None = None,
    service: str | None = None,
    open_now: bool = False,
    limit: int = 20,
) -> list[dict[str, Any]]:
    """Active stations by distance, with distance, open-now and services.

    One Redis command (`_SEARCH`: the index's marker, GEOSEARCH, the station cache's
    version) and the stations from the per-process cache (`server/stations/catalog.py`).
    """
    radius = min(radius_m or NEARBY_DEFAULT_RADIUS_M, NEARBY_MAX_RADIUS_M)
    # inactive stations are not in the index: without filters, `limit` (and a few more for
    # ties at the last distance) is all there is to read; with filters, the nearest
    # NEARBY_SCAN first, and more only when those did not fill the page
    count = NEARBY_SCAN if service or open_now else limit + 10
    script = current_app.extensions.get("fengchao_nearby")
    if script is None:
        script = current_app.extensions["fengchao_nearby"] = get_redis().register_script(_SEARCH)

    def search():
        keys = [GEO_BUILT, GEO_KEY, catalog.CACHE.key]
        return script(keys=keys, args=[repr(lng), repr(lat), radius, count])

    built, found, version = search()
    if not built:
        rebuild_geo()
        built, found, version = search()
    catalog.CACHE.sync(version)
    here = local(utcnow())  # once: every station's open-now is asked at this time
    while True:
        results = _pick(found, service, open_now, here, limit)
        # the index may hold more within the radius: read further (up to NEARBY_SCAN_MAX,
        # the nearest 1,200 stations: ≈120 km² at a city's density) while the page is not
        # full, or its last distance could still tie with a station not read yet (at
        # night, in a street of closed shops, the open ones may be thousands away)
        if (
            len(found) < count
            or count >= NEARBY_SCAN_MAX
            or (len(results) >= limit and round(float(found[-1][1])) > results[-1]["distance_m"])
        ):
            return results
        count = min(count * 4, NEARBY_SCAN_MAX)
        _, found, _ = search()


def _pick(found, service: str | None, open_now: bool, here, limit: int) -> list[dict[str, Any]]:
    """The first `limit` stations of a GEOSEARCH answer (nearest first) that pass the filters."""
    by_id = catalog.all_stations()
    results: list[dict[str, Any]] = []
    for member, dist in found:  # nearest first
        distance = round(float(dist))
        if len(results) >= limit and distance > results[-1]["distance_m"]:
            break  # full, and nothing further can tie with the last one
        row = by_id.get(int(member))
        if row is None or not row["is_active"]:
            continue
        if service and service not in row["services"]:
            continue
        is_open = opening.is_open_at(row["opening_hours"], here)
        if open_now and not is_open:
            continue
        results.append(
            {
                "id": row["id"],
                "name": row["name"],
                "kind": row["kind"],
                "kind_name": row["kind_name"],
                "address": row["address"],
                "lat": row["lat"],
                "lng": row["lng"],
                "distance_m": distance,
                "is_open_now": is_open,
                "services": row["services"],
                "opening_hours": row["opening_hours"],
                "contact_phone": row["contact_phone"],
                "photo": row["photos"][0] if row["photos"] else None,
            }
        )
    results.sort(key=lambda item: (item["distance_m"], item["id"]))
    return results[:limit]

"""Routing a location to the org unit that owns it: boundaries in a shapely STRtree.

The index is built once per process and rebuilt when the tree changes (one cheap query
per routing checks the units' count and latest update).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import current_app
from shapely import STRtree
from shapely.geometry import Point, shape
from sqlalchemy import func, select

from server.errors import DomainError
from server.extensions import db
from server.geo import distance_m
from server.org.models import LEVELS, OrgUnit
from server.reports.categories import street_of

_lock = threading.Lock()
ROUTABLE_LEVELS = ("community", "grid", "micro_grid")


@dataclass
class _Index:
    version: tuple
    tree: STRtree | None
    ids: list[int]
    depth: list[int]
    area: list[float]


def _version() -> tuple:
    row = db.session.execute(select(func.count(OrgUnit.id), func.max(OrgUnit.updated_at))).one()
    return (row[0], row[1])


def _index() -> _Index:
    version = _version()
    cached: _Index | None = current_app.extensions.get("report_routing")
    if cached is not None and cached.version == version:
        return cached
    with _lock:
        geoms, ids, depth, area = [], [], [], []
        for unit in db.session.execute(
            select(OrgUnit).where(OrgUnit.boundary.is_not(None))
        ).scalars():
            try:
                geom = shape(unit.boundary)
            except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
                continue
            if geom.is_empty or not geom.is_valid:
                continue
            geoms.append(geom)
            ids.append(unit.id)
            depth.append(LEVELS.index(unit.level))
            area.append(geom.area)
        built = _Index(version, STRtree(geoms) if geoms else None, ids, depth, area)
        current_app.extensions["report_routing"] = built
        return built


def _nearest(units: list[OrgUnit], lat: float, lng: float) -> OrgUnit | None:
    placed = [u for u in units if u.center_lat is not None and u.center_lng is not None]
    if not placed:
        return None
    return min(placed, key=lambda u: distance_m(lat, lng, u.center_lat, u.center_lng))


def _communities_under(unit: OrgUnit) -> list[OrgUnit]:
    return list(
        db.session.execute(
            select(OrgUnit).where(
                OrgUnit.level == "community", OrgUnit.path.startswith(unit.path, autoescape=True)
            )
        ).scalars()
    )


def route_point(lat: float, lng: float, home: OrgUnit | None = None) -> tuple[OrgUnit, str]:
    """(unit, how): the smallest unit whose boundary holds the point ("boundary"); else the
    nearest community of the street it falls in ("nearest"); outside every boundary, the
    command-centre queue of the reporter's street or the nearest street ("street")."""
    index = _index()
    point = Point(lng, lat)
    best = None
    if index.tree is not None:
        hits = index.tree.query(point, predicate="intersects")
        if len(hits):
            best = max(hits, key=lambda i: (index.depth[i], -index.area[i]))
    if best is not None:
        unit = db.session.get(OrgUnit, index.ids[best])
        if unit.level in ROUTABLE_LEVELS:
            return unit, "boundary"
        nearest = _nearest(_communities_under(unit), lat, lng)
        if nearest is not None:
            return nearest, "nearest"
        return street_of(unit), "street"
    if home is not None:
        return street_of(home), "street"
    streets = list(db.session.execute(select(OrgUnit).where(OrgUnit.level == "street")).scalars())
    street = _nearest(streets, lat, lng) or (streets[0] if streets else None)
    if street is None:
        raise DomainError("report.unroutable", "暂时无法确定问题所属的街道，请填写详细地址", 422)
    return street, "street"


def route_report(lat: float | None, lng: float | None, home: OrgUnit | None) -> tuple[OrgUnit, str]:
    """Route by location when there is one, else to the reporter's home community."""
    if lat is not None and lng is not None:
        return route_point(lat, lng, home)
    if home is not None:
        return home, "home"
    raise DomainError("report.location_required", "请在地图上选择问题位置，或先完成社区报到", 422)

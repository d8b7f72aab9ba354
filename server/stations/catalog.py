"""Stations as the hot paths read them (check-in, nearby): plain dicts kept per process.

A `VersionedCache` (server/cache.py): any committed ORM change to a station reaches every
worker on its next request. Admin views read and write the ORM rows, never these copies.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.cache import VersionedCache
from server.extensions import db
from server.stations.models import KINDS, SERVICES, Station

CACHE = VersionedCache("stations", [Station], preload=lambda: all_stations())

_COLUMNS = (
    Station.id,
    Station.org_unit_id,
    Station.name,
    Station.kind,
    Station.address,
    Station.lat,
    Station.lng,
    Station.services,
    Station.opening_hours,
    Station.contact_phone,
    Station.photos,
    Station.is_active,
    Station.checkin_radius_m,
    Station.qr_secret,
)


def _load_all() -> dict[int, dict[str, Any]]:
    rows = db.session.execute(select(*_COLUMNS)).all()
    loaded = {}
    for row in rows:
        station = row._asdict()
        station["services"] = station["services"] or []
        station["photos"] = station["photos"] or []
        station["kind_name"] = KINDS.get(station["kind"], station["kind"])
        station["service_names"] = [SERVICES.get(s, s) for s in station["services"]]
        loaded[station["id"]] = station
    return loaded


def all_stations() -> dict[int, dict[str, Any]]:
    """id → station dict, every station (call `CACHE.sync` or `ensure_fresh` first).

    Check-ins and searches land on stations all over the city, so a worker loads the whole
    table at once (≈10,000 rows, a fraction of a second, once per change or worker start)
    rather than one miss at a time. Do not modify the dicts.
    """
    return CACHE.everything(_load_all)


def station(station_id: int) -> dict[str, Any] | None:
    return all_stations().get(station_id)

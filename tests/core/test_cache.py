"""Per-process copies of stations and earning rules (server/cache.py): a committed change
anywhere reaches this process on its next request; without an announcement (a Core
statement, or one lost to a Redis outage) copies still age out."""

from __future__ import annotations

from sqlalchemy import update

from server import cache
from server.extensions import db, get_redis
from server.stations import catalog
from server.stations.models import Station
from tests.factories import make_station


def _nearby_names(client, station):
    response = client.get(
        "/api/v1/stations/nearby", query_string={"lat": station.lat, "lng": station.lng}
    )
    assert response.status_code == 200
    return [item["name"] for item in response.get_json()["items"]]


def _rename_with_core(station, name) -> Station:
    """Rename as another worker would (here with Core: no ORM event in this process);
    answers a stand-in with the station's position for `_nearby_names`."""
    sid, lat, lng = station.id, station.lat, station.lng
    db.session.execute(update(Station).where(Station.id == sid).values(name=name))
    db.session.commit()
    return Station(id=sid, lat=lat, lng=lng)


def test_an_orm_change_is_seen_at_once(client, units):
    station = make_station(units["A"], name="旧名驿站")
    assert _nearby_names(client, station) == ["旧名驿站"]
    station.name = "新名驿站"
    db.session.commit()
    assert _nearby_names(client, station) == ["新名驿站"]


def test_another_process_announces_its_change_through_the_version(client, units):
    station = make_station(units["A"], name="旧名驿站")
    assert _nearby_names(client, station) == ["旧名驿站"]
    probe = _rename_with_core(station, "新名驿站")
    assert _nearby_names(client, probe) == ["旧名驿站"]  # not announced: the copy stands
    get_redis().set(catalog.CACHE.key, "announced-by-another-worker")
    assert _nearby_names(client, probe) == ["新名驿站"]


def test_copies_age_out_without_an_announcement(client, units, monkeypatch):
    station = make_station(units["A"], name="旧名驿站")
    assert _nearby_names(client, station) == ["旧名驿站"]
    probe = _rename_with_core(station, "新名驿站")
    now = cache.time.monotonic()
    monkeypatch.setattr(cache.time, "monotonic", lambda: now + cache.MAX_AGE_S + 1)
    assert _nearby_names(client, probe) == ["新名驿站"]


def test_nothing_is_kept_while_redis_has_no_version(client, units):
    station = make_station(units["A"], name="驿站甲")
    get_redis().delete(catalog.CACHE.key)
    catalog.CACHE.refresh()  # no version: copies are dropped, a new version is set
    assert get_redis().get(catalog.CACHE.key) is not None
    assert _nearby_names(client, station) == ["驿站甲"]

"""A rotated QR secret or a deactivated station must reach every worker, not "within
minutes": when the cache's new version token cannot be written at the commit, the view
tries once more, and if Redis still refuses, tells the staff member (503, the change saved)
instead of a 200 while other workers keep accepting the old code until their copies age."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.client
from redis.exceptions import ConnectionError as RedisConnectionError

from server import clock
from server.extensions import db
from server.stations import catalog
from server.stations.models import Station
from server.stations.services import scene_of
from tests.factories import make_station


@pytest.fixture
def station(units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    return make_station(units["A"])


@pytest.fixture
def announcements_lost(monkeypatch):
    """Redis refuses the next `n` cache announcements (every other command goes through)."""
    execute = redis.client.Pipeline.execute
    left = {"n": 0}

    def maybe_lost(self, *args, **kwargs):
        if left["n"] and any("cache:ver:" in str(c[0]) for c in self.command_stack):
            left["n"] -= 1
            self.reset()
            raise RedisConnectionError("Redis unreachable")
        return execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", maybe_lost)

    def lose(n: int) -> None:
        left["n"] = n

    return lose


def worker_b():
    """Another worker's warm copy of the stations (taken now, put back later)."""
    catalog.CACHE.refresh()
    catalog.all_stations()
    return catalog.CACHE._version, catalog.CACHE._data, catalog.CACHE._since


def check_in(client, auth, scene, station):
    return client.post(
        "/api/v1/checkins",
        json={"scene": scene, "lat": station.lat, "lng": station.lng, "accuracy": 10},
        headers=auth,
    )


def test_a_rotation_announced_on_the_second_try_kills_the_old_code_everywhere(
    client, login, station, announcements_lost
):
    old, rider, admin = scene_of(station), login("rider"), login("community_admin", "A")
    copy = worker_b()
    announcements_lost(1)  # lost at the commit, taken on the view's second try
    rotated = client.post(f"/api/v1/admin/stations/{station.id}/rotate-qr", headers=admin)
    assert rotated.status_code == 200, rotated.get_json()
    catalog.CACHE._version, catalog.CACHE._data, catalog.CACHE._since = copy
    refused = check_in(client, rider, old, station)
    assert refused.status_code == 400 and refused.get_json()["code"] == "checkin.invalid_scene"


def test_a_rotation_redis_will_not_announce_is_saved_and_the_staff_member_told(
    client, login, station, announcements_lost
):
    old, admin = scene_of(station), login("community_admin", "A")
    announcements_lost(2)
    rotated = client.post(f"/api/v1/admin/stations/{station.id}/rotate-qr", headers=admin)
    assert rotated.status_code == 503, rotated.get_json()
    body = rotated.get_json()
    assert body["code"] == "cache.not_announced"
    assert body["message"].startswith("二维码已更换，但暂时未能通知所有服务器")
    db.session.expire_all()
    assert scene_of(db.session.get(Station, station.id)) != old  # saved: a retry rotates again
    again = client.post(f"/api/v1/admin/stations/{station.id}/rotate-qr", headers=admin)
    assert again.status_code == 200


def test_a_deactivation_redis_will_not_announce_is_told_too(
    client, login, station, announcements_lost
):
    admin = login("community_admin", "A")
    announcements_lost(2)
    response = client.patch(
        f"/api/v1/admin/stations/{station.id}", json={"is_active": False}, headers=admin
    )
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["message"].startswith("驿站信息已保存")
    db.session.expire_all()
    assert db.session.get(Station, station.id).is_active is False


def test_a_deactivated_stations_poster_is_refused(client, login, station):
    """Printed and hung, every scan of it would be refused (and each print spends quota)."""
    admin = login("community_admin", "A")
    assert client.delete(f"/api/v1/admin/stations/{station.id}", headers=admin).status_code == 200
    pdf = client.get(f"/api/v1/admin/stations/{station.id}/poster.pdf", headers=admin)
    png = client.get(
        f"/api/v1/admin/stations/{station.id}/qrcode.png?variant=poster", headers=admin
    )
    for response in (pdf, png):
        assert response.status_code == 409
        assert response.get_json()["code"] == "station.inactive"
        assert "已停用，请先启用后再打印二维码海报" in response.get_json()["message"]

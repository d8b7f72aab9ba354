"""Redis unreachable or timing out: 503 `service_unavailable` with Retry-After, nothing
half-written — never a 500 (server/errors.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import redis.client
from redis.exceptions import ConnectionError, TimeoutError

from server import clock
from server.stations.services import scene_of
from tests.factories import make_station


@pytest.fixture
def redis_down(monkeypatch):
    def down(error):
        def refuse(self, *args, **kwargs):
            raise error

        monkeypatch.setattr(redis.client.Redis, "execute_command", refuse)
        monkeypatch.setattr(redis.client.Pipeline, "execute", refuse)

    return down


def _unavailable(response):
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    "error", [ConnectionError("Error 111 connecting"), TimeoutError("Timeout reading")]
)
def test_a_redis_outage_answers_503_and_writes_nothing(
    client, login, units, redis_down, monkeypatch, caplog, error
):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    rider = login("rider")
    staff = login("grid_worker", "A")
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 15}
    redis_down(error)
    _unavailable(client.post("/api/v1/checkins", json=body, headers=rider))
    _unavailable(client.get(f"/api/v1/stations/nearby?lat={station.lat}&lng={station.lng}"))
    _unavailable(client.get("/api/v1/rankings", headers=rider))
    assert "Redis unavailable" in caplog.text
    points = client.get("/api/v1/me/points", headers=rider)  # needs no Redis
    assert points.status_code == 200 and points.get_json()["balance"] == 0
    monkeypatch.undo()
    listed = client.get("/api/v1/admin/checkins", headers=staff).get_json()
    assert listed["items"] == []  # the check-in stopped before the database

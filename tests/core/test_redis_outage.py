"""Redis unreachable or timing out: 503 `service_unavailable` with Retry-After, nothing
half-written — never a 500 (server/errors.py)."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
import redis.client
from redis.exceptions import ConnectionError, TimeoutError

from server import clock
from server.stations.services import scene_of
from tests.factories import make_station
from tests.ops.helpers import other_app, session_env


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


def test_a_station_saved_while_redis_fails_is_not_answered_503(
    client, login, units, redis_down, monkeypatch, redis
):
    """The station commits before its GEO index write: with Redis gone at that moment the
    staff member gets their station (201), not a 503 whose retry would create it twice; the
    index learns it when its marker expires (GEO_INDEX_TTL_S) and it is rebuilt."""
    from server.stations.models import Station
    from server.stations.services import GEO_BUILT, GEO_INDEX_TTL_S

    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    admin = login("community_admin", "A")
    unit = units["A"]
    url = f"/api/v1/stations/nearby?lat={unit.center_lat}&lng={unit.center_lng}&radius_m=2000"
    assert client.get(url).get_json()["items"] == []  # the index is built
    assert 0 < redis.ttl(GEO_BUILT) <= GEO_INDEX_TTL_S
    body = {
        "org_unit_id": unit.id,
        "name": "断网时新建的驿站",
        "kind": "warm",
        "address": "经三路 1 号",
        "lat": unit.center_lat,
        "lng": unit.center_lng,
    }
    redis_down(ConnectionError("Error 111 connecting"))
    created = client.post("/api/v1/admin/stations", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    monkeypatch.undo()
    from server.extensions import db

    assert db.session.query(Station).filter_by(name="断网时新建的驿站").count() == 1
    redis.delete(GEO_BUILT)  # as when the marker expires
    assert [s["name"] for s in client.get(url).get_json()["items"]] == ["断网时新建的驿站"]


def test_a_redis_that_stops_answering_costs_a_request_seconds_not_a_worker(app, tmp_path):
    """A Redis host that accepts connections and never answers (a partition, a frozen VM):
    the request gives up after the client's socket timeout and answers 503 — without one,
    redis-py waits for ever and every gunicorn worker ends up stuck the same way."""
    from server.extensions import REDIS_SOCKET_TIMEOUT_S

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes the handshakes; nothing ever reads or replies
    env = {
        **session_env(app, tmp_path),
        "REDIS_URL": f"redis://127.0.0.1:{silent.getsockname()[1]}/0",
    }
    answers = []
    try:
        with other_app(app, env) as hung:
            waiting = threading.Thread(
                target=lambda: answers.append(
                    hung.test_client().get("/api/v1/stations/nearby?lat=34.75&lng=113.62")
                ),
                daemon=True,
            )
            waiting.start()
            waiting.join(REDIS_SOCKET_TIMEOUT_S * 2 + 20)
            stuck = waiting.is_alive()
            silent.close()  # without the timeout this is what frees the request
            waiting.join(10)
    finally:
        silent.close()
    assert not stuck, "the request still waited on a Redis that never answers"
    _unavailable(answers[0])


def test_options_in_the_redis_url_override_the_client_timeouts(app, tmp_path):
    env = {**session_env(app, tmp_path), "REDIS_URL": "redis://127.0.0.1:6399/0?socket_timeout=7"}
    with other_app(app, env) as configured:
        for name in ("redis", "redis_raw"):
            kwargs = configured.extensions[name].connection_pool.connection_kwargs
            assert kwargs["socket_timeout"] == 7.0
            assert kwargs["socket_connect_timeout"] == 1.0

"""The station cache's invalidation must be announced once, after the outermost commit.

SQLAlchemy fires `after_commit` when a SAVEPOINT is released and `after_rollback` when one
is rolled back (server/notifications/services.py opens one for every notification with a
dedupe key). server/cache.py pops its pending names in both: a released savepoint publishes
the new token while the change is still uncommitted (a worker reading it then loads the old
row and keeps it under the new token), and the real commit publishes nothing; a rolled-back
savepoint forgets the outer transaction's change altogether.
"""

from __future__ import annotations

import datetime as dt

import pytest

from server import clock
from server.cache import _ALL
from server.extensions import db
from server.stations import catalog
from server.stations.models import Station
from server.stations.scenes import new_secret
from server.stations.services import scene_of
from tests.factories import make_station


def check_in(client, auth, scene, station):
    return client.post(
        "/api/v1/checkins",
        json={"scene": scene, "lat": station.lat, "lng": station.lng, "accuracy": 10},
        headers=auth,
    )


@pytest.fixture
def station(units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    return make_station(units["A"])


def test_a_rolled_back_savepoint_does_not_swallow_the_rotation(client, login, redis, station):
    rider = login("rider")
    old = scene_of(station)
    catalog.CACHE.refresh()
    catalog.all_stations()
    b = (catalog.CACHE._version, catalog.CACHE._data, catalog.CACHE._since)  # worker B, warm

    row = db.session.get(Station, station.id)
    row.qr_secret = new_secret()  # the rotation, in a transaction that…
    db.session.flush()
    # …also tries something that fails (a dedupe race)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        raise RuntimeError("savepoint rolled back")
    db.session.commit()  # the new secret is committed

    catalog.CACHE._version, catalog.CACHE._data, catalog.CACHE._since = b  # back on worker B
    response = check_in(client, rider, old, station)
    assert response.status_code == 400, response.get_json()  # the old code must be dead
    assert response.get_json()["code"] == "checkin.invalid_scene"


def test_a_released_savepoint_does_not_announce_an_uncommitted_rotation(
    client, login, redis, station
):
    rider = login("rider")
    old = scene_of(station)
    catalog.CACHE.refresh()
    committed = dict(catalog.all_stations())  # what another connection sees until the commit

    row = db.session.get(Station, station.id)
    row.qr_secret = new_secret()
    db.session.flush()
    with db.session.begin_nested():  # e.g. notify(..., dedupe_key=...) in the same transaction
        pass
    # Worker B serves a request now: it reads the token and loads the committed rows.
    mid_token = redis.get(catalog.CACHE.key)
    db.session.commit()

    catalog.CACHE._version = mid_token  # worker B's copy: the new token, the old secret
    catalog.CACHE._data = {_ALL: committed}
    response = check_in(client, rider, old, station)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["code"] == "checkin.invalid_scene"

"""Check-in cost: the station is read once per check-in (not reloaded after the commit)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from server import clock
from server.extensions import db
from server.stations.services import scene_of
from tests.factories import make_station


def test_check_in_reads_the_station_once(client, login, units):
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    station = make_station(units["A"], name="淮北街小哥驿站")
    rider = login("rider")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.post(
            "/api/v1/checkins",
            json={
                "scene": scene_of(station),
                "lat": station.lat,
                "lng": station.lng,
                "accuracy": 15,
            },
            headers=rider,
        )
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    body = response.get_json()
    assert response.status_code == 201, body
    assert body["station"]["name"] == "淮北街小哥驿站"
    assert body["station"]["services"] == ["rest", "water", "charging"]
    station_reads = [
        s for s in statements if s.lstrip().upper().startswith("SELECT") and "FROM stations" in s
    ]
    assert len(station_reads) == 1, station_reads

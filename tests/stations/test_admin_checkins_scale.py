"""/admin/checkins at city scale: past the page-number depth the list goes on with
`before_id` (keyset paging on the id it is ordered by), and the CSV export counts what it
would export (over ids, with a LIMIT) before loading a row, so a refusal loads none."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from server import clock, http
from server.extensions import db
from server.stations import checkins
from server.stations.models import CheckIn
from tests.factories import make_station, recorded_statements

NOON = dt.datetime(2026, 11, 18, 4, 0)


@pytest.fixture(autouse=True)
def _noon():
    clock.freeze(NOON)


def _seed(login, units, n: int) -> list[int]:
    """n check-ins at community A's station; their ids, newest first."""
    rider = login("rider")
    station = make_station(units["A"], name="淮北街小哥驿站")
    rows = [
        {
            "user_id": rider.user_id,
            "station_id": station.id,
            "org_unit_id": units["A"].id,
            "status": "ok",
            "day": NOON.date(),
            "lat": station.lat,
            "lng": station.lng,
            "points_awarded": 5,
            "created_at": NOON - dt.timedelta(minutes=i),
        }
        for i in range(n)
    ]
    db.session.execute(insert(CheckIn), rows)
    db.session.commit()
    return sorted(db.session.scalars(db.select(CheckIn.id)).all(), reverse=True)


def _get(client, auth, query):
    response = client.get(f"/api/v1/admin/checkins?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_before_id_goes_on_where_page_numbers_stop(client, login, units, monkeypatch):
    ids = _seed(login, units, 23)
    monkeypatch.setattr(http, "MAX_OFFSET", 10)
    auth = login("grid_worker", "A")
    first = _get(client, auth, "page_size=5")
    assert [i["id"] for i in first["items"]] == ids[:5]
    assert first["total"] == 23 and first["has_more"] is True
    assert first["next_before_id"] == ids[4]
    assert _get(client, auth, "page=2&page_size=5")["has_more"] is False  # depth reached
    assert client.get("/api/v1/admin/checkins?page=3&page_size=5", headers=auth).status_code == 422

    seen, cursor = [], None
    while True:
        query = "page_size=5" + (f"&before_id={cursor}" if cursor else "")
        page = _get(client, auth, query)
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_before_id"]
        if cursor is None:
            break
    assert seen == ids  # every row once, in order, past the depth
    # page numbers count from before_id
    second = _get(client, auth, f"before_id={ids[4]}&page=2&page_size=5")
    assert [i["id"] for i in second["items"]] == ids[10:15]
    assert second["total"] == 18
    # nothing below the oldest
    assert _get(client, auth, f"before_id={ids[-1]}")["items"] == []


def test_a_refused_export_loads_no_row(client, login, units, monkeypatch):
    _seed(login, units, 7)
    auth = login("grid_worker", "A")
    monkeypatch.setattr(checkins, "CSV_MAX_ROWS", 6)
    with recorded_statements() as statements:
        response = client.get("/api/v1/admin/checkins?format=csv", headers=auth)
    assert response.status_code == 422
    assert response.get_json()["code"] == "export.too_many_rows"
    reads = [s for s in statements if "FROM checkins" in s]
    assert len(reads) == 1 and reads[0].startswith("SELECT count(*)"), reads
    assert "checkins.details" not in reads[0]  # over ids: an index-only scan

    monkeypatch.setattr(checkins, "CSV_MAX_ROWS", 7)
    response = client.get("/api/v1/admin/checkins?format=csv", headers=auth)
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("\n") == 8  # header + every row

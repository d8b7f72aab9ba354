"""The check-ins CSV export does not hand Excel or WPS a formula (CSV injection, OWASP)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from server import clock
from server.stations.services import scene_of
from tests.factories import make_station

# Wednesday 2026-11-18 12:00 in Shanghai.
NOON = dt.datetime(2026, 11, 18, 4, 0)
EVIL = '=HYPERLINK("http://evil/x","点我")'


@pytest.fixture(autouse=True)
def _noon():
    clock.freeze(NOON)


def check_in(client, auth, station):
    body = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 15}
    response = client.post("/api/v1/checkins", json=body, headers=auth)
    assert response.status_code == 201, response.get_json()


def export(client, auth) -> list[dict[str, str]]:
    response = client.get("/api/v1/admin/checkins?format=csv", headers=auth)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_a_formula_station_name_is_exported_as_text(client, login, units):
    evil = make_station(units["A"], name=EVIL)
    plain = make_station(units["A"], name="淮北街小哥驿站")
    check_in(client, login("rider"), evil)
    check_in(client, login("rider"), plain)
    rows = export(client, login("grid_worker", "A"))
    names = sorted(row["驿站"] for row in rows)
    assert names == ["'" + EVIL, "淮北街小哥驿站"]
    for row in rows:  # the other cells are as before
        assert row["结果"] == "ok" and row["积分"] == "5"
        assert row["时间"].startswith("2026-11-18T12:00:00")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_dangerous_first_character_is_neutralised(start):
    from server.csv_safe import safe_cell

    assert safe_cell(start + "1+2") == "'" + start + "1+2"


def test_only_text_cells_are_escaped():
    from server.csv_safe import safe_row

    row = [-5, -1.5, 0, None, "", "-5", "a=b", "正常", "'=quoted"]
    assert safe_row(row) == [-5, -1.5, 0, None, "", "'-5", "a=b", "正常", "'=quoted"]

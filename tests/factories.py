"""Model factories for tests: small, explicit, built through the real services."""

from __future__ import annotations

from server.org.models import OrgUnit
from server.org.services import create_org_unit


def box(lat: float, lng: float, half: float) -> dict:
    ring = [
        [lng - half, lat - half],
        [lng + half, lat - half],
        [lng + half, lat + half],
        [lng - half, lat + half],
        [lng - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def make_tree() -> dict[str, OrgUnit]:
    """D > S1 > {A > {A1, A2}, B > {B1}}, D > S2 > {C > {C1}}; boxes around Zhengzhou."""
    units: dict[str, OrgUnit] = {}

    def add(key, level, parent, lat, lng, half):
        units[key] = create_org_unit(
            f"T-{key}",
            f"测试{key}",
            level,
            units.get(parent),
            boundary=box(lat, lng, half),
            center_lat=lat,
            center_lng=lng,
        )

    add("D", "district", None, 34.72, 113.64, 0.2)
    add("S1", "street", "D", 34.72, 113.64, 0.05)
    add("S2", "street", "D", 34.82, 113.74, 0.05)
    add("A", "community", "S1", 34.73, 113.63, 0.01)
    add("B", "community", "S1", 34.71, 113.65, 0.01)
    add("C", "community", "S2", 34.82, 113.74, 0.01)
    add("A1", "grid", "A", 34.73, 113.625, 0.005)
    add("A2", "grid", "A", 34.73, 113.635, 0.005)
    add("B1", "grid", "B", 34.71, 113.65, 0.01)
    add("C1", "grid", "C", 34.82, 113.74, 0.01)
    return units

"""Demo data: one district, one street, three communities with grids, demo users.

Idempotent: everything is looked up by its code or openid before it is created. Each
domain adds its own demo data by naming a function in `server.DEMO_SEEDERS`; it
receives the units by code, returns summary lines, and must be idempotent too.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from server.auth.models import User
from server.extensions import db
from server.org.models import OrgUnit, StaffBinding
from server.org.services import create_org_unit

# 郑州市二七区淮河路街道 (GCJ-02). Boundaries are simplified rectangles around each unit.
TREE = [
    ("D-ERQI", "二七区", "district", None, (34.7238, 113.6400, 0.060)),
    ("ST-HUAIHE", "淮河路街道", "street", "D-ERQI", (34.7262, 113.6395, 0.020)),
    ("C-HUAIBEI", "淮北街社区", "community", "ST-HUAIHE", (34.7300, 113.6350, 0.006)),
    ("C-XINGHUA", "兴华街社区", "community", "ST-HUAIHE", (34.7230, 113.6460, 0.006)),
    ("C-FUHUA", "福华街社区", "community", "ST-HUAIHE", (34.7200, 113.6340, 0.006)),
]
GRIDS_PER_COMMUNITY = 3

DEMO_USERS = [
    # (openid, citizen role, display name, community code, staff role, staff unit code)
    ("o_demo_rider", "rider", "刘师傅", "C-HUAIBEI", None, None),
    ("o_demo_rider2", "rider", "王小哥", "C-XINGHUA", None, None),
    ("o_demo_resident", "resident", "张阿姨", "C-HUAIBEI", None, None),
    ("o_demo_grid", "resident", "李网格员", None, "grid_worker", "C-HUAIBEI-G1"),
    ("o_demo_community", "resident", "赵书记", None, "community_admin", "C-HUAIBEI"),
    ("o_demo_street", "resident", "陈主任", None, "street_admin", "ST-HUAIHE"),
]


def box(lat: float, lng: float, half: float) -> dict:
    """A GeoJSON square of half-side `half` degrees around a point (demo and test boundaries)."""
    ring = [
        [lng - half, lat - half],
        [lng + half, lat - half],
        [lng + half, lat + half],
        [lng - half, lat + half],
        [lng - half, lat - half],
    ]
    return {"type": "Polygon", "coordinates": [ring]}


def _unit(code, name, level, parent, lat, lng, half) -> OrgUnit:
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        unit = create_org_unit(
            code,
            name,
            level,
            parent,
            boundary=box(lat, lng, half),
            center_lat=lat,
            center_lng=lng,
        )
    return unit


def seed_org() -> dict[str, OrgUnit]:
    units: dict[str, OrgUnit] = {}
    for code, name, level, parent_code, (lat, lng, half) in TREE:
        units[code] = _unit(code, name, level, units.get(parent_code), lat, lng, half)
        if level == "community":
            for n in range(1, GRIDS_PER_COMMUNITY + 1):
                # Grids split the community west to east.
                g_lng = lng - half + (2 * n - 1) * half / GRIDS_PER_COMMUNITY
                units[f"{code}-G{n}"] = _unit(
                    f"{code}-G{n}",
                    f"{name}第{n}网格",
                    "grid",
                    units[code],
                    lat,
                    g_lng,
                    half / GRIDS_PER_COMMUNITY,
                )
    return units


def seed_users(units: dict[str, OrgUnit]) -> None:
    for openid, role, name, community, staff_role, staff_unit in DEMO_USERS:
        user = db.session.execute(select(User).where(User.openid == openid)).scalar_one_or_none()
        if user is None:
            user = User(openid=openid, citizen_role=role, display_name=name)
            if community:
                user.community_id = units[community].id
                user.platform = "meituan" if role == "rider" else None
                from server.clock import utcnow

                user.registered_at = utcnow()
            db.session.add(user)
            db.session.flush()
        if staff_role:
            bound = db.session.execute(
                select(StaffBinding).where(
                    StaffBinding.user_id == user.id, StaffBinding.revoked_at.is_(None)
                )
            ).scalar_one_or_none()
            if bound is None:
                db.session.add(
                    StaffBinding(user_id=user.id, org_unit_id=units[staff_unit].id, role=staff_role)
                )
    db.session.commit()


def seed_demo() -> list[str]:
    """Create (or leave as they are) the demo street, users and every domain's demo data."""
    units = seed_org()
    seed_users(units)
    lines = [f"org units: {len(units)}; demo users: {len(DEMO_USERS)}"]
    for seeder in _seeders():
        lines.extend(seeder(units))
    return lines


def _seeders() -> list[Callable[[dict[str, OrgUnit]], list[str]]]:
    import importlib

    from server import DEMO_SEEDERS

    found = []
    for dotted in DEMO_SEEDERS:
        module_name, _, attr = dotted.rpartition(".")
        found.append(getattr(importlib.import_module(module_name), attr))
    return found

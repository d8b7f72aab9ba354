"""Model factories for tests: small, explicit, built through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from server.demo import box
from server.org.models import OrgUnit
from server.org.services import create_org_unit

__all__ = ["box"]


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


# --- stations and points (issue 3) ---


def make_station(unit, **values):
    """An active station of `unit` (default at the unit's centre, open all day)."""
    from server.extensions import db
    from server.stations.models import Station
    from server.stations.scenes import new_secret

    fields = {
        "org_unit_id": unit.id,
        "name": "测试驿站",
        "kind": "courier",
        "address": "测试路 1 号",
        "lat": unit.center_lat,
        "lng": unit.center_lng,
        "services": ["rest", "water", "charging"],
        "opening_hours": None,
        "checkin_radius_m": 200,
        "qr_secret": new_secret(),
    }
    fields.update(values)
    station = Station(**fields)
    db.session.add(station)
    db.session.commit()
    return station


def make_reward(unit, **values):
    from server.extensions import db
    from server.points.models import Reward

    fields = {"org_unit_id": unit.id, "name": "洗衣液", "cost": 50, "stock": 10}
    fields.update(values)
    reward = Reward(**fields)
    db.session.add(reward)
    db.session.commit()
    return reward


def give_points(user_id: int, points: int, source_id: str = "seed") -> None:
    """Credit a user through the ledger (an adjustment-like source), committed."""
    from server.extensions import db
    from server.points.services import award_points

    award_points(user_id, points, reason="测试发放", source_type="test", source_id=source_id)
    db.session.commit()


# --- reports (issue 4) ---------------------------------------------------------------------


def make_categories(street) -> dict:
    """The default report categories of a street, by code."""
    from server.reports.categories import ensure_categories

    return {c.code: c for c in ensure_categories(street)}


def jpeg_bytes(size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    """A small real JPEG (optionally with EXIF bytes)."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    kwargs = {"exif": exif} if exif is not None else {}
    Image.new("RGB", size, color).save(buffer, "JPEG", **kwargs)
    return buffer.getvalue()


def assert_template_sources(notification) -> dict:
    """Every field of the notification kind's default template finds its value in what the
    caller wrote (its `data`, title, body): none falls back to the send time or the title.
    Returns the fields as WeChat would get them."""
    from server.notifications.config import DEMO_TEMPLATES
    from server.notifications.fields import build_data

    fields = DEMO_TEMPLATES[notification.kind]["fields"]
    given = {"title", "body", "created_at", *(notification.data or {})}
    for key, source in fields.items():
        names = [source] if isinstance(source, str) else list(source)
        assert given & set(names), f"{notification.kind}: {key} reads {names}, none written"
    return build_data(fields, notification)


@contextmanager
def recorded_statements() -> Iterator[list[str]]:
    """The SQL statements sent while the block runs, whitespace collapsed (a query-count or
    query-shape assertion)."""
    from sqlalchemy import event

    from server.extensions import db

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

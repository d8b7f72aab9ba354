"""The report categories of a street: the field's list, with deadlines and hints."""

from __future__ import annotations

from sqlalchemy import select

from server.errors import DomainError, NotFound
from server.extensions import db
from server.org.models import OrgUnit
from server.reports.models import ReportCategory

# code, name, icon, hours to accept, hours to resolve, rider points, hint, duplicate radius (m)
DEFAULT_CATEGORIES = [
    ("dumping", "垃圾倾倒", "trash", 2, 24, True, None, 100),
    ("illegal_parking", "违章停车", "car", 1, 8, True, None, 50),
    ("private_wiring", "私拉电线", "plug", 1, 24, True, "电线冒烟起火请立即拨打 119", 50),
    ("fire_hazard", "消防隐患", "fire", 1, 12, True, "紧急情况请拨打 119", 100),
    ("street_vending", "占道经营", "stall", 2, 24, True, None, 100),
    ("parking_lock", "私设地锁", "lock", 2, 72, True, None, 50),
    ("road_damage", "道路破损", "road", 2, 72, True, "路面塌陷危及安全请拨打 110", 100),
    ("street_light", "路灯损坏", "lamp", 2, 72, True, None, 100),
    (
        "structure_hazard",
        "墙体/设施安全隐患",
        "wall",
        1,
        24,
        True,
        "有坍塌危险请远离并拨打 110",
        100,
    ),
    ("noise", "噪音扰民", "noise", 2, 24, False, "正在发生的严重扰民可拨打 110", 150),
    ("neighbour_dispute", "邻里纠纷", "people", 4, 72, False, "发生冲突请拨打 110", 50),
    ("other", "其他", "more", 4, 120, False, None, 100),
]


def street_of(unit: OrgUnit) -> OrgUnit:
    """The street a unit belongs to (itself if it is one; a district maps to itself)."""
    current = unit
    while current.level not in ("street", "district") and current.parent is not None:
        current = current.parent
    return current


def ensure_categories(street: OrgUnit) -> list[ReportCategory]:
    """Give a street the default categories it lacks (idempotent); returns all of them."""
    categories = add_default_categories(street)
    db.session.commit()
    return categories


def on_org_unit_created(unit: OrgUnit) -> None:
    """A new street starts with the default categories, in the transaction creating it
    (server.ORG_UNIT_CREATED): residents can report there from its first minute. They are
    the street's own rows from then on (changing the defaults later changes no street)."""
    if unit.level == "street":
        add_default_categories(unit)


def add_default_categories(street: OrgUnit) -> list[ReportCategory]:
    """The default categories a street lacks, added to the session (the caller commits)."""
    have = {
        c.code: c
        for c in db.session.execute(
            select(ReportCategory).where(ReportCategory.street_id == street.id)
        ).scalars()
    }
    for order, (code, name, icon, accept, resolve, points, hint, radius) in enumerate(
        DEFAULT_CATEGORIES
    ):
        if code not in have:
            have[code] = ReportCategory(
                street_id=street.id,
                code=code,
                name=name,
                icon=icon,
                accept_hours=accept,
                resolve_hours=resolve,
                points_apply=points,
                hint=hint,
                duplicate_radius_m=radius,
                sort_order=order,
            )
            db.session.add(have[code])
    return sorted(have.values(), key=lambda c: c.sort_order)


def categories_for(unit: OrgUnit | None) -> list[ReportCategory]:
    """The active categories of the street around `unit`."""
    if unit is None:
        return []
    street = street_of(unit)
    return list(
        db.session.execute(
            select(ReportCategory)
            .where(ReportCategory.street_id == street.id, ReportCategory.is_active.is_(True))
            .order_by(ReportCategory.sort_order, ReportCategory.id)
        ).scalars()
    )


def get_category(category_id: int) -> ReportCategory:
    category = db.session.get(ReportCategory, category_id)
    if category is None:
        raise NotFound("report.unknown_category", "找不到该问题类别，请重新选择")
    if not category.is_active:
        raise DomainError("report.category_inactive", "该问题类别已停用，请选择其他类别", 422)
    return category


def category_for_street(category: ReportCategory, street: OrgUnit) -> ReportCategory:
    """The same category (by code) in the street the report was routed to, if it has one."""
    if category.street_id == street.id:
        return category
    same = db.session.execute(
        select(ReportCategory).where(
            ReportCategory.street_id == street.id,
            ReportCategory.code == category.code,
            ReportCategory.is_active.is_(True),
        )
    ).scalar_one_or_none()
    return same or category


def seed_demo(units: dict[str, OrgUnit]) -> list[str]:
    """Demo seeder: the default categories for every street in the demo tree."""
    streets = [u for u in units.values() if u.level == "street"]
    count = sum(len(ensure_categories(street)) for street in streets)
    return [f"report categories: {count} in {len(streets)} street(s)"]

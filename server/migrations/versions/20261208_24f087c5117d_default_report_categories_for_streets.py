"""streets without report categories get the default ones

Revision ID: 24f087c5117d
Revises: 8e3c5a1d7f42
Create Date: 2026-12-08 10:00:00

Data only. A street created with `fengchao org-unit add` (or POST /admin/org-units) had no
report categories: residents got an empty list and every report was refused
(report.unknown_category). New streets get them when they are created now; this gives the
defaults to each street that has none at all. A street with any category (the demo's, or one
whose list was edited) is left as it is, and so are districts and the levels below a street
(a report takes the categories of its street).

The list is this revision's copy of server/reports/categories.DEFAULT_CATEGORIES: a migration
must do the same thing whenever it runs. Downgrade keeps the rows (reports may name them).
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "24f087c5117d"
down_revision = "8e3c5a1d7f42"
branch_labels = None
depends_on = None

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

org_units = sa.table("org_units", sa.column("id", sa.BigInteger), sa.column("level", sa.String))
report_categories = sa.table(
    "report_categories",
    sa.column("street_id", sa.BigInteger),
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("icon", sa.String),
    sa.column("accept_hours", sa.Integer),
    sa.column("resolve_hours", sa.Integer),
    sa.column("points_apply", sa.Boolean),
    sa.column("hint", sa.String),
    sa.column("duplicate_radius_m", sa.Integer),
    sa.column("sort_order", sa.Integer),
    sa.column("is_active", sa.Boolean),
    sa.column("created_at", sa.DateTime),
    sa.column("updated_at", sa.DateTime),
)


def upgrade():
    has_any = sa.exists().where(report_categories.c.street_id == org_units.c.id)
    streets = (
        op.get_bind()
        .execute(
            sa.select(org_units.c.id)
            .where(org_units.c.level == "street", ~has_any)
            .order_by(org_units.c.id)
        )
        .scalars()
        .all()
    )
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # stored as naive UTC
    rows = [
        {
            "street_id": street_id,
            "code": code,
            "name": name,
            "icon": icon,
            "accept_hours": accept,
            "resolve_hours": resolve,
            "points_apply": points,
            "hint": hint,
            "duplicate_radius_m": radius,
            "sort_order": order,
            "is_active": True,
            "created_at": now,
            "updated_at": now,
        }
        for street_id in streets
        for order, (code, name, icon, accept, resolve, points, hint, radius) in enumerate(
            DEFAULT_CATEGORIES
        )
    ]
    if rows:
        op.bulk_insert(report_categories, rows)


def downgrade():
    pass  # the categories stay: reports filed since may name them

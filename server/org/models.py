"""Org units with a materialised path, staff invitations and staff bindings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.auth.models import User
from server.extensions import db
from server.models_base import BigId, TimestampMixin, pk

LEVELS = ("district", "street", "community", "grid", "micro_grid")
LEVEL_NAMES = {
    "district": "区",
    "street": "街道",
    "community": "社区",
    "grid": "网格",
    "micro_grid": "微网格",
}
# Staff roles by rank: a higher rank may do what a lower one may, within its subtree.
STAFF_ROLES = ("grid_worker", "community_admin", "street_admin", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(STAFF_ROLES, start=1)}
ROLE_NAMES = {
    "grid_worker": "网格员",
    "community_admin": "社区管理员",
    "street_admin": "街道指挥中心",
    "admin": "系统管理员",
}
# Where each staff role may be bound.
ROLE_LEVELS = {
    "grid_worker": ("community", "grid", "micro_grid"),
    "community_admin": ("community",),
    "street_admin": ("district", "street"),
    "admin": LEVELS,
}


class OrgUnit(TimestampMixin, db.Model):
    __tablename__ = "org_units"

    id: Mapped[int] = pk()
    code: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("org_units.id"), index=True)
    # "/1/4/17/": the ids from the root down; a subtree is a prefix match.
    path: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    depth: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    boundary: Mapped[dict | None] = mapped_column(JSON)  # GeoJSON Polygon/MultiPolygon
    center_lat: Mapped[float | None] = mapped_column(Float)
    center_lng: Mapped[float | None] = mapped_column(Float)

    parent: Mapped[OrgUnit | None] = relationship(remote_side="OrgUnit.id")

    # a subtree is `path LIKE 'prefix%'`: under a non-C collation only the pattern opclass
    # serves it on PostgreSQL (SQLite: unaffected)
    __table_args__ = (
        Index("ix_org_units_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    def is_within(self, other: OrgUnit) -> bool:
        """True when self is `other` or below it."""
        return self.path.startswith(other.path)

    def __repr__(self) -> str:
        return f"<OrgUnit {self.code} {self.level}>"


def subtree_ids(unit: OrgUnit) -> Select:
    """The ids of `unit` and every unit below it (for `column.in_(...)`): a staff filter by
    a unit means its whole subtree, whatever level the rows live at."""
    return select(OrgUnit.id).where(OrgUnit.path.startswith(unit.path, autoescape=True))


class StaffInvitation(TimestampMixin, db.Model):
    __tablename__ = "staff_invitations"

    id: Mapped[int] = pk()
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    used_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    org_unit: Mapped[OrgUnit] = relationship()


class StaffBinding(TimestampMixin, db.Model):
    __tablename__ = "staff_bindings"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), nullable=False)
    org_unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("org_units.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    invitation_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_invitations.id"))
    is_on_duty: Mapped[bool] = mapped_column(default=True, nullable=False)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    org_unit: Mapped[OrgUnit] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (
        # One active binding per user.
        Index(
            "uq_staff_bindings_active_user",
            "user_id",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.role]

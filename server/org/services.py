"""The tree, staff invitations (one-time codes) and staff binding."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from server.auth.guards import Scope
from server.auth.models import User
from server.clock import utcnow
from server.errors import Conflict, DomainError, Forbidden, NotFound
from server.extensions import db
from server.org.models import (
    LEVELS,
    ROLE_LEVELS,
    ROLE_NAMES,
    ROLE_RANK,
    OrgUnit,
    StaffBinding,
    StaffInvitation,
)

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def create_org_unit(
    code: str, name: str, level: str, parent: OrgUnit | None, **extra: Any
) -> OrgUnit:
    """Add a unit below `parent` (a district has none); levels must nest in order."""
    if level not in LEVELS:
        raise DomainError(
            "org.invalid_level", "层级无效：请选择 区、街道、社区、网格 或 微网格", 422
        )
    if parent is None and level != "district":
        raise DomainError("org.parent_required", "只有区可以没有上级", 422)
    if parent is not None and LEVELS.index(level) != LEVELS.index(parent.level) + 1:
        raise DomainError("org.invalid_nesting", f"{parent.name}下只能建立下一级单位", 422)
    if db.session.execute(select(OrgUnit.id).where(OrgUnit.code == code)).first():
        raise Conflict("org.code_taken", f"编码 {code} 已被使用")
    unit = OrgUnit(code=code, name=name, level=level, parent=parent, **extra)
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    unit.depth = 0 if parent is None else parent.depth + 1
    for hook in _created_hooks():  # e.g. a street's report categories: all or nothing
        hook(unit)
    db.session.commit()
    return unit


def _created_hooks() -> list[Callable[[OrgUnit], None]]:
    """The other domains' additions to a new unit (server.ORG_UNIT_CREATED): resolved here,
    when a unit is created, so the tree imports none of them."""
    from server import ORG_UNIT_CREATED

    return _resolve(ORG_UNIT_CREATED)


def _binding_ended(user_id: int, now_bound: StaffBinding | None) -> None:
    """Tell the other domains a staff member's binding ended (server.STAFF_BINDING_ENDED):
    unbound (`now_bound` None) or moved to `now_bound`; in the caller's transaction."""
    from server import STAFF_BINDING_ENDED

    for hook in _resolve(STAFF_BINDING_ENDED):
        hook(user_id, now_bound)


def _resolve(dotted_names: list[str]) -> list[Callable]:
    import importlib

    hooks = []
    for dotted in dotted_names:
        module_name, _, attr = dotted.rpartition(".")
        hooks.append(getattr(importlib.import_module(module_name), attr))
    return hooks


# What may change on a unit once it exists: its code, level and parent stay (paths, scopes,
# bindings and every row filed under it hang on them).
EDITABLE_FIELDS = ("name", "boundary", "center_lat", "center_lng")


def update_org_unit(unit: OrgUnit, changes: dict[str, Any], scope: Scope | None) -> OrgUnit:
    """Rename a unit or give it a new boundary or centre; `scope` None is the operator's CLI.
    A boundary is checked as a new unit's is, and must still hold the units below it."""
    changes = {k: v for k, v in changes.items() if k in EDITABLE_FIELDS}
    if changes.get("boundary") is not None:
        check_boundary(changes["boundary"], unit.parent, scope, editing=unit)
        _check_holds_subunits(changes["boundary"], unit)
    # Readers keeping a copy of the tree (routing's boundary index, server/reports/routing.py)
    # see a change by its count and latest `updated_at`: stamp the edit past the latest even
    # when this node's clock lags another's (or stands still, as in tests).
    latest = db.session.execute(select(func.max(OrgUnit.updated_at))).scalar()
    now = utcnow()
    if latest is not None and now <= latest:
        now = latest + dt.timedelta(microseconds=1)
    changed = False
    for field, value in changes.items():
        if getattr(unit, field) != value:
            setattr(unit, field, value)
            changed = True
    if changed:
        unit.updated_at = now
    db.session.commit()
    return unit


# Boundaries drawn by hand and by different offices: slivers along shared edges are normal.
BOUNDARY_TOLERANCE = 0.01  # of the new unit's area


def check_boundary(
    boundary: dict | None,
    parent: OrgUnit | None,
    scope: Scope | None,
    editing: OrgUnit | None = None,
) -> None:
    """A unit's boundary drawn by staff must be a valid shape inside its nearest bounded
    ancestor and must not overlap units outside the caller's subtree (other than its own
    ancestors): routing sends a report to the smallest unit holding it, so a polygon over a
    neighbour's streets would take their reports into this subtree. `scope` None is the
    operator's CLI, who may draw anywhere a system admin may; `editing`, the unit whose
    boundary this replaces."""
    if boundary is None:
        return
    from shapely.geometry import shape

    drawn = _shape_of(boundary)
    slack = drawn.area * BOUNDARY_TOLERANCE
    ancestors, unit = [], parent
    while unit is not None:
        ancestors.append(unit)
        unit = unit.parent
    bounded = next((a for a in ancestors if a.boundary), None)
    if bounded is not None:
        try:
            outer = shape(bounded.boundary)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
            outer = None
        if outer is not None and outer.is_valid and drawn.difference(outer).area > slack:
            raise DomainError(
                "org.boundary_outside_parent",
                f"边界超出了上级「{bounded.name}」的范围，请只圈定其辖区内的区域",
                422,
            )
    if scope is None or scope.is_admin:  # nothing lies outside their reach
        return
    mine = {a.id for a in ancestors} | ({editing.id} if editing is not None else set())
    others = db.session.execute(
        select(OrgUnit).where(OrgUnit.boundary.is_not(None), OrgUnit.id.not_in(sorted(mine) or [0]))
    ).scalars()
    for other in others:
        if scope.covers(other):
            continue
        try:
            theirs = shape(other.boundary)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
            continue
        if theirs.is_valid and drawn.intersection(theirs).area > slack:
            raise DomainError(
                "org.boundary_overlaps",
                f"边界与您管辖范围之外的「{other.name}」重叠，请只圈定本辖区内的区域",
                422,
            )


def _shape_of(boundary: dict):
    """The boundary as a shapely geometry: a valid shape with an area, else 422."""
    from shapely.geometry import shape

    invalid = DomainError("org.invalid_boundary", "边界图形无效：请检查多边形的坐标", 422)
    try:
        drawn = shape(boundary)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
        raise invalid from None
    if drawn.is_empty or not drawn.is_valid or drawn.area <= 0:
        raise invalid
    return drawn


def _check_holds_subunits(boundary: dict, unit: OrgUnit) -> None:
    """A new boundary must still hold the bounded units below: theirs were checked to lie
    inside this one, and a point left between the two would route past the unit."""
    from shapely.geometry import shape

    drawn = _shape_of(boundary)
    below = db.session.execute(
        select(OrgUnit)
        .where(
            OrgUnit.path.startswith(unit.path, autoescape=True),
            OrgUnit.id != unit.id,
            OrgUnit.boundary.is_not(None),
        )
        .order_by(OrgUnit.path)
    ).scalars()
    for sub in below:
        try:
            theirs = shape(sub.boundary)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, OverflowError):
            continue
        if theirs.is_valid and theirs.difference(drawn).area > theirs.area * BOUNDARY_TOLERANCE:
            raise DomainError(
                "org.boundary_excludes_subunit",
                f"新边界没有包含下级「{sub.name}」的范围：请把它圈进来，或先调整「{sub.name}」的边界",
                422,
            )


def unit_by_code(code: str) -> OrgUnit:
    unit = db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one_or_none()
    if unit is None:
        raise NotFound("org.unknown_unit", f"找不到编码为 {code} 的单位")
    return unit


def _hash_code(code: str) -> str:
    normalised = code.strip().upper().replace("-", "").replace(" ", "")
    return hashlib.sha256(normalised.encode()).hexdigest()


def _new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def create_invitation(
    unit: OrgUnit, role: str, inviter: Scope | None, *, allow_admin: bool = False
) -> tuple[str, StaffInvitation]:
    """A one-time code binding its user to `unit` as `role`; never more than the inviter holds.

    `inviter` None means the operator's CLI (bootstrap), the only way to mint `admin`.
    """
    if role not in ROLE_RANK:
        raise DomainError(
            "invitation.invalid_role", "角色无效：请选择 网格员、社区管理员 或 街道指挥中心", 422
        )
    if role == "admin" and not allow_admin:
        raise Forbidden("invitation.admin_cli_only", "系统管理员只能由运维在服务器上邀请")
    if inviter is not None:
        inviter.ensure(unit)
        if inviter.rank < ROLE_RANK["community_admin"]:
            raise Forbidden("invitation.not_allowed", "您的角色不能邀请工作人员")
        if ROLE_RANK[role] > inviter.rank:
            raise Forbidden("invitation.exceeds_inviter", "不能邀请比自己权限更高的角色")
    if unit.level not in ROLE_LEVELS[role]:
        levels = "、".join(ROLE_LEVELS[role])
        raise DomainError(
            "invitation.level_mismatch",
            f"{ROLE_NAMES[role]}只能绑定到以下层级：{levels}",
            422,
        )
    code = _new_code()
    ttl = dt.timedelta(hours=current_app.config["INVITATION_TTL_HOURS"])
    invitation = StaffInvitation(
        code_hash=_hash_code(code),
        org_unit_id=unit.id,
        role=role,
        created_by_id=inviter.user.id if inviter else None,
        expires_at=utcnow() + ttl,
    )
    db.session.add(invitation)
    db.session.commit()
    return code, invitation


def bind_staff(user: User, code: str) -> StaffBinding:
    """Redeem an invitation code: the user becomes staff of its unit (once, before expiry)."""
    invitation = db.session.execute(
        select(StaffInvitation).where(StaffInvitation.code_hash == _hash_code(code))
    ).scalar_one_or_none()
    if invitation is None:
        raise DomainError("invitation.invalid", "邀请码无效，请核对后重新输入", 400)
    if invitation.used_at is not None:
        raise Conflict("invitation.used", "该邀请码已被使用，请向管理员索取新的邀请码")
    if invitation.expires_at <= utcnow():
        raise DomainError("invitation.expired", "邀请码已过期，请向管理员索取新的邀请码", 400)
    if not _inviter_still_may(invitation):
        raise DomainError(
            "invitation.inviter_left",
            "发出该邀请码的工作人员已不在岗或权限已变更，邀请码作废，请向管理员索取新的邀请码",
            400,
        )
    # Claim the code with a conditional update: of two racing users only one wins.
    claimed = db.session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.id == invitation.id, StaffInvitation.used_at.is_(None))
        .values(used_at=utcnow(), used_by_id=user.id)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise Conflict("invitation.used", "该邀请码已被使用，请向管理员索取新的邀请码")
    now = utcnow()
    ended = db.session.execute(
        update(StaffBinding)
        .where(StaffBinding.user_id == user.id, StaffBinding.revoked_at.is_(None))
        .values(revoked_at=now)
    ).rowcount
    binding = StaffBinding(
        user_id=user.id,
        org_unit_id=invitation.org_unit_id,
        role=invitation.role,
        invitation_id=invitation.id,
    )
    db.session.add(binding)
    try:
        if ended:  # moved: what they handled outside the new unit goes back
            db.session.flush()
            _binding_ended(user.id, binding)
        db.session.commit()
    except IntegrityError:  # the same user binding twice at once
        db.session.rollback()
        raise Conflict(
            "staff.binding_in_progress", "正在处理另一个绑定请求，请稍后刷新查看"
        ) from None
    return binding


def _inviter_still_may(invitation: StaffInvitation) -> bool:
    """A code is worth what its inviter holds NOW: one minted by someone since unbound (or
    moved, or lowered) would let them reinstate themselves, or anyone, after leaving. Codes
    from the operator's CLI (no inviter) stand."""
    if invitation.created_by_id is None:
        return True
    binding = db.session.execute(
        select(StaffBinding)
        .join(User, User.id == StaffBinding.user_id)
        .where(
            StaffBinding.user_id == invitation.created_by_id,
            StaffBinding.revoked_at.is_(None),
            User.is_active.is_(True),  # a deactivated account vouches for no one
        )
    ).scalar_one_or_none()
    if binding is None:
        return False
    unit = db.session.get(OrgUnit, invitation.org_unit_id)
    covers = binding.role == "admin" or unit.path.startswith(binding.org_unit.path)
    return covers and binding.rank >= max(ROLE_RANK[invitation.role], ROLE_RANK["community_admin"])


def unbind_staff(binding: StaffBinding) -> None:
    """End a binding and revoke the user's tokens; the work they were handling goes back to
    be dispatched again (STAFF_BINDING_ENDED)."""
    binding.revoked_at = utcnow()
    user = db.session.get(User, binding.user_id)
    user.token_version += 1
    db.session.flush()
    _binding_ended(binding.user_id, None)
    db.session.commit()


def get_binding_in_scope(scope: Scope, binding_id: int) -> StaffBinding:
    binding = db.session.get(StaffBinding, binding_id)
    if binding is None or binding.revoked_at is not None or not scope.covers(binding.org_unit):
        raise NotFound()
    if binding.rank > scope.rank or (binding.user_id == scope.user.id and not scope.is_admin):
        raise Forbidden("staff.cannot_unbind", "不能解除比自己权限更高或自己的绑定")
    return binding


def list_units(level: str | None, parent_id: int | None):
    stmt = select(OrgUnit).order_by(OrgUnit.path)
    if level:
        stmt = stmt.where(OrgUnit.level == level)
    if parent_id is not None:
        stmt = stmt.where(OrgUnit.parent_id == parent_id)
    return stmt


def staff_in_scope(scope: Scope):
    return (
        select(StaffBinding)
        .where(StaffBinding.revoked_at.is_(None), scope.clause(StaffBinding.org_unit_id))
        .order_by(StaffBinding.id)
    )

"""The current user, and the one authorisation guard: role R over org unit U's subtree.

Every staff endpoint uses `staff_required(min_role)` on the view and then
`scope.ensure(unit)` / `scope.clause(column)` in the service. Outside the subtree an
object does not exist for the caller (404, never 403, never data); inside it, a
role below the required one gets 403.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass

from flask import g, has_request_context, request
from sqlalchemy import ColumnElement, select, true

from server.auth import principal as principals
from server.auth.models import User
from server.auth.principal import Principal
from server.auth.tokens import TokenInvalid, decode_token
from server.errors import Forbidden, NotFound, Unauthorized
from server.extensions import db
from server.org.models import ROLE_NAMES, ROLE_RANK, OrgUnit, StaffBinding

_UNSET = object()


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def current_principal_or_none() -> Principal | None:
    """Who a valid token speaks for (from Redis, no ORM load), or None."""
    # Cached on the request (not on g: an app context may outlive one request).
    cached = getattr(request, "_fengchao_principal", _UNSET)
    if cached is not _UNSET:
        return cached
    found = None
    token = _bearer()
    if token:
        try:
            user_id, version = decode_token(token)
        except TokenInvalid:
            user_id = version = None
        if user_id is not None:
            found = _valid(principals.get(user_id), version)
    _remember(found)
    return found


def _valid(candidate: Principal | None, version: int) -> Principal | None:
    if candidate and candidate.is_active and candidate.token_version == version:
        return candidate
    return None


def _remember(found: Principal | None) -> None:
    request._fengchao_principal = found
    g.user_id = found.id if found is not None else "-"


def current_principal() -> Principal:
    """The authenticated user's principal; 401 with a code saying why otherwise."""
    found = current_principal_or_none()
    if found is not None:
        return found
    _token_claims()  # 401 for a missing, invalid or expired token
    raise _revoked()


def _token_claims() -> tuple[int, int]:
    token = _bearer()
    if not token:
        raise Unauthorized("auth.required", "请先登录")
    try:
        return decode_token(token)
    except TokenInvalid as exc:
        if exc.reason == "expired":
            raise Unauthorized("auth.token_expired", "登录已过期，请重新登录") from None
        raise Unauthorized("auth.token_invalid", "登录凭证无效，请重新登录") from None


def _revoked() -> Unauthorized:
    return Unauthorized("auth.token_revoked", "登录已失效，请重新登录")


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """A checked bearer token (signature, audience, expiry) whose user's record is still to
    be read: `token_required` views read it in their own first Redis round trip."""

    user_id: int
    version: int

    def principal_key(self) -> str:
        return principals.key(self.user_id)

    def accept(self, raw: str | None) -> Principal:
        """The principal from its record as read by the view (None: not in Redis, read from
        the database); 401 `auth.token_revoked` when the token no longer counts. From here
        `current_principal()` answers for the request as `login_required` would have."""
        return self.accept_principal(principals.from_record(self.user_id, raw))

    def accept_principal(self, found: Principal | None) -> Principal:
        """The same for a view that read the user's row itself, in a statement it runs
        anyway (`principal.record_source`; None: no such user): the row is what the Redis
        record copies, so it is the stricter check."""
        if found is not None and found.id != self.user_id:
            raise ValueError("a principal read for another user")
        found = _valid(found, self.version)
        _remember(found)
        if found is None:
            raise _revoked()
        return found


def token_claims() -> TokenClaims:
    """The request's checked bearer token (in a `token_required` view)."""
    return request._fengchao_claims


def current_user_or_none() -> User | None:
    """The authenticated user's row, or None without a (valid) token."""
    found = current_principal_or_none()
    if found is None:
        return None
    cached = getattr(request, "_fengchao_user", None)
    if cached is None:
        cached = db.session.get(User, found.id)
        request._fengchao_user = cached
    return cached


def current_user() -> User:
    """The authenticated user's row; 401 with a code saying why otherwise."""
    found = current_principal()
    user = current_user_or_none()
    if user is None or not user.is_active or user.token_version != found.token_version:
        # the row changed under a principal record that said otherwise: believe the row
        raise Unauthorized("auth.token_revoked", "登录已失效，请重新登录")
    return user


def active_binding(user: User) -> StaffBinding | None:
    """The user's active staff binding, if any (cached per request)."""
    stmt = select(StaffBinding).where(
        StaffBinding.user_id == user.id, StaffBinding.revoked_at.is_(None)
    )
    if not has_request_context():
        return db.session.execute(stmt).scalar_one_or_none()
    key = f"_fengchao_binding_{user.id}"
    if not hasattr(request, key):
        setattr(request, key, db.session.execute(stmt).scalar_one_or_none())
    return getattr(request, key)


@dataclass(frozen=True)
class Scope:
    """A staff member's reach: their role and the subtree below their unit."""

    user: User
    role: str
    unit: OrgUnit

    @property
    def rank(self) -> int:
        return ROLE_RANK[self.role]

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def covers(self, unit: OrgUnit | None) -> bool:
        return unit is not None and (self.is_admin or unit.path.startswith(self.unit.path))

    def ensure(self, unit: OrgUnit | int | None, min_role: str | None = None) -> OrgUnit:
        """The unit if it is in this scope (else 404) and the role suffices (else 403)."""
        if isinstance(unit, int):
            unit = db.session.get(OrgUnit, unit)
        if not self.covers(unit):
            raise NotFound()
        if min_role and self.rank < ROLE_RANK[min_role]:
            raise Forbidden()
        return unit

    def clause(self, org_unit_column) -> ColumnElement[bool]:
        """A WHERE clause keeping rows whose org unit is in this subtree."""
        if self.is_admin:
            return true()
        return org_unit_column.in_(
            select(OrgUnit.id).where(OrgUnit.path.startswith(self.unit.path, autoescape=True))
        )


def current_scope(min_role: str = "grid_worker") -> Scope:
    """The caller's staff scope; 403 for citizens and for roles below `min_role`."""
    user = current_user()
    binding = active_binding(user)
    if binding is None:
        raise Forbidden("auth.staff_only", "此功能仅限工作人员使用")
    if binding.rank < ROLE_RANK[min_role]:  # staff, told what the operation needs
        raise Forbidden(
            "auth.role_too_low",
            f"此操作需要{ROLE_NAMES[min_role]}及以上权限，请联系上级工作人员办理",
        )
    return Scope(user=user, role=binding.role, unit=binding.org_unit)


def _document(func: Callable, staff: str | None) -> None:
    doc = deepcopy(getattr(func, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    # component names (not "$ref" dicts): flask-smorest registers the lazy components they
    # name, so the document never holds a dangling reference
    responses["401"] = "UNAUTHORIZED"
    if staff:
        responses["403"] = "FORBIDDEN"
    func._apidoc = doc


def login_required(func: Callable) -> Callable:
    """The view needs a logged-in user (401 otherwise)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        current_principal()
        return func(*args, **kwargs)

    _document(wrapper, None)
    return wrapper


def token_required(func: Callable) -> Callable:
    """Like `login_required`, for a hot view that reads the caller's principal record in its
    own first Redis round trip rather than in one of its own: the token is checked here (401
    for a missing, invalid or expired one, before the arguments are parsed, as
    `login_required` does), the view gets it from `token_claims()`, puts
    `claims.principal_key()` in its first pipeline and passes the reply to
    `claims.accept(raw)` before doing anything for the caller. A view that answers without
    having accepted a principal is a bug: refused here (500), never an anonymous success
    (tests/auth/test_token_required.py)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        request._fengchao_claims = TokenClaims(*_token_claims())
        result = func(*args, **kwargs)
        if getattr(request, "_fengchao_principal", None) is None:
            raise RuntimeError(f"{func.__qualname__} answered without accepting a principal")
        return result

    _document(wrapper, None)
    return wrapper


def staff_required(min_role: str = "grid_worker") -> Callable[[Callable], Callable]:
    """The view needs a staff binding of at least `min_role` (403 otherwise)."""

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            current_scope(min_role)
            return func(*args, **kwargs)

        _document(wrapper, min_role)
        return wrapper

    return decorator

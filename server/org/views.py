"""The tree (public reading), staff invitations, binding and unbinding."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import (
    active_binding,
    current_scope,
    current_user,
    login_required,
    staff_required,
)
from server.auth.schemas import StaffSchema
from server.errors import DomainError, NotFound
from server.extensions import db, limiter
from server.http import PageQuerySchema, error_responses, page_of, paginate
from server.ops.limits import rate_limit
from server.org import services
from server.org.models import ROLE_NAMES, OrgUnit
from server.org.schemas import (
    AdminOrgUnitSchema,
    BindingCodeSchema,
    DutySchema,
    InvitationCreateSchema,
    InvitationSchema,
    OrgUnitCreateSchema,
    OrgUnitQuerySchema,
    OrgUnitSchema,
    OrgUnitUpdateSchema,
    StaffBindingSchema,
)

blp = Blueprint("org", __name__, url_prefix="/api/v1", description="网格与工作人员")


def staff_view(binding) -> dict:
    return {
        "binding_id": binding.id,
        "role": binding.role,
        "role_name": ROLE_NAMES[binding.role],
        "org_unit_id": binding.org_unit_id,
        "org_unit_name": binding.org_unit.name,
        "org_unit_level": binding.org_unit.level,
        "is_on_duty": binding.is_on_duty,
    }


@blp.route("/org-units")
class OrgUnits(MethodView):
    @blp.arguments(OrgUnitQuerySchema, location="query")
    @blp.response(200, page_of(OrgUnitSchema))
    def get(self, args):
        """List org units, e.g. the communities of a street for 社区报到."""
        stmt = services.list_units(args.get("level"), args.get("parent_id"))
        return paginate(stmt, args["page"], args["page_size"])


@blp.route("/org-units/<int:unit_id>")
class OrgUnitDetail(MethodView):
    @blp.response(200, OrgUnitSchema)
    @error_responses(404)
    def get(self, unit_id):
        """One org unit."""
        unit = db.session.get(OrgUnit, unit_id)
        if unit is None:
            raise NotFound()
        return unit


@blp.route("/admin/org-units")
class AdminOrgUnits(MethodView):
    @staff_required("street_admin")
    @blp.arguments(OrgUnitCreateSchema)
    @blp.response(201, AdminOrgUnitSchema)
    @error_responses(404, 409)
    def post(self, body):
        """Add a unit below one in your subtree (street admins and above)."""
        scope = current_scope("street_admin")
        parent = None
        if body.get("parent_id") is not None:
            parent = scope.ensure(body["parent_id"])
        elif not scope.is_admin:
            raise DomainError("org.parent_required", "请选择上级单位", 422)
        fields = {k: body.get(k) for k in ("boundary", "center_lat", "center_lng")}
        services.check_boundary(fields["boundary"], parent, scope)
        return services.create_org_unit(body["code"], body["name"], body["level"], parent, **fields)


@blp.route("/admin/org-units/<int:unit_id>")
class AdminOrgUnit(MethodView):
    @staff_required("street_admin")
    @blp.arguments(OrgUnitUpdateSchema)
    @blp.response(200, AdminOrgUnitSchema)
    @error_responses(404)
    def patch(self, body, unit_id):
        """Rename a unit in your subtree, or set its boundary or centre (street admins up)."""
        scope = current_scope("street_admin")
        return services.update_org_unit(scope.ensure(unit_id), body, scope)


@blp.route("/admin/invitations")
class Invitations(MethodView):
    @staff_required("community_admin")
    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    @error_responses(404)
    def post(self, body):
        """Create a one-time staff invitation code for a unit in your subtree."""
        scope = current_scope("community_admin")
        unit = scope.ensure(body["org_unit_id"])
        code, invitation = services.create_invitation(unit, body["role"], scope)
        return {
            "code": code,
            "role": invitation.role,
            "org_unit_id": unit.id,
            "expires_at": invitation.expires_at,
        }


@blp.route("/admin/staff")
class Staff(MethodView):
    @staff_required("community_admin")
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_of(StaffBindingSchema))
    def get(self, args):
        """Staff bound within your subtree."""
        scope = current_scope("community_admin")
        return paginate(services.staff_in_scope(scope), args["page"], args["page_size"])


@blp.route("/admin/staff/<int:binding_id>")
class StaffMember(MethodView):
    @staff_required("community_admin")
    @blp.response(204)
    @error_responses(404)
    def delete(self, binding_id):
        """Unbind a staff member (their tokens are revoked)."""
        scope = current_scope("community_admin")
        services.unbind_staff(services.get_binding_in_scope(scope, binding_id))


@blp.route("/me/staff-binding")
class MyStaffBinding(MethodView):
    @login_required
    @limiter.limit(rate_limit("STAFF_BINDING"))  # per user (RATE_LIMIT_STAFF_BINDING)
    @blp.arguments(BindingCodeSchema)
    @blp.response(201, StaffSchema)
    @error_responses(409, 429)
    def post(self, body):
        """Become staff of a unit with a one-time invitation code."""
        return staff_view(services.bind_staff(current_user(), body["code"]))

    @login_required
    @blp.response(200, StaffSchema)
    @error_responses(404)
    def get(self):
        """The caller's staff binding (404 for citizens)."""
        binding = active_binding(current_user())
        if binding is None:
            raise NotFound(
                "staff.not_bound", "您还不是工作人员；如需绑定，请向社区管理员索取邀请码"
            )
        return staff_view(binding)

    @login_required
    @blp.response(204)
    @error_responses(404)
    def delete(self):
        """Leave the staff role (tokens are revoked; log in again)."""
        binding = active_binding(current_user())
        if binding is None:
            raise NotFound(
                "staff.not_bound", "您还不是工作人员；如需绑定，请向社区管理员索取邀请码"
            )
        services.unbind_staff(binding)


@blp.route("/me/duty")
class MyDuty(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(DutySchema)
    @blp.response(200, StaffSchema)
    def put(self, body):
        """Go on or off duty (on-duty grid workers receive new work orders)."""
        binding = active_binding(current_user())
        binding.is_on_duty = body["is_on_duty"]
        db.session.commit()
        return staff_view(binding)

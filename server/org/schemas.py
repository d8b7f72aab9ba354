"""Schemas for the tree and staff management."""

from __future__ import annotations

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates,
    validates_schema,
)

from server.http import LocalDateTime, PageQuerySchema, Text
from server.org.models import LEVELS, ROLE_NAMES, STAFF_ROLES
from server.security import MAX_ID


class OrgUnitSchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"description": " | ".join(LEVELS)})
    parent_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    center_lat = fields.Float(allow_none=True)
    center_lng = fields.Float(allow_none=True)


class OrgUnitQuerySchema(PageQuerySchema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class _PlaceFields(Schema):
    """Where a unit lies: its boundary (routing sends a report to the smallest unit whose
    boundary holds it) and its centre (the nearest community when none does)."""

    boundary = fields.Dict(
        allow_none=True,
        metadata={
            "description": "GeoJSON Polygon or MultiPolygon geometry, [lng, lat] pairs in "
            "GCJ-02; its shape is checked (valid, inside the parent's, clear of others)"
        },
    )
    center_lat = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    center_lng = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))

    @validates("boundary")
    def _geojson(self, value, **kwargs):
        if value is None:
            return
        if value.get("type") not in ("Polygon", "MultiPolygon") or not isinstance(
            value.get("coordinates"), list
        ):
            raise ValidationError("边界须为 GeoJSON Polygon 或 MultiPolygon")


class OrgUnitCreateSchema(_PlaceFields):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{2,32}$", error="编码只能用 2–32 位字母、数字、-、_"
        ),
    )
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


# Fields a unit keeps for life, and what to do instead of changing one.
FIXED_FIELDS = {
    "code": "编码不能修改",
    "level": "层级不能修改：如需调整，请新建单位",
    "parent_id": "上级单位不能修改：如需调整，请新建单位",
}


class OrgUnitUpdateSchema(_PlaceFields):
    """What changes on a unit: name, boundary (null removes it), centre (both or neither)."""

    name = Text(validate=validate.Length(min=1, max=64))

    @pre_load
    def _fixed(self, data, **kwargs):
        if isinstance(data, dict):
            fixed = {key: [FIXED_FIELDS[key]] for key in FIXED_FIELDS if key in data}
            if fixed:
                raise ValidationError(fixed)
        return data

    @validates_schema
    def _centre_whole(self, data, **kwargs):
        lat, lng = data.get("center_lat"), data.get("center_lng")
        if ("center_lat" in data) != ("center_lng" in data) or (lat is None) != (lng is None):
            raise ValidationError("中心点的纬度和经度须一起填写", "center_lat")


class AdminOrgUnitSchema(OrgUnitSchema):
    """A unit as staff who draw the tree see it: with its boundary."""

    boundary = fields.Dict(allow_none=True)


class InvitationCreateSchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    role = fields.String(required=True, validate=validate.OneOf(STAFF_ROLES))


class InvitationSchema(Schema):
    code = fields.String(required=True, metadata={"description": "shown once; give it in person"})
    role = fields.String(required=True)
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    expires_at = LocalDateTime(allow_none=True)


class BindingCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=4, max=32))


class StaffBindingSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    role = fields.String(required=True)
    role_name = fields.Function(lambda b: ROLE_NAMES[b.role])
    display_name = fields.Function(lambda b: b.user.display_name, allow_none=True)
    phone = fields.Function(
        lambda b: b.user.phone_masked, allow_none=True, metadata={"description": "138****1234"}
    )
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    org_unit_name = fields.Function(lambda b: b.org_unit.name)
    is_on_duty = fields.Boolean()
    created_at = LocalDateTime(allow_none=True)


class DutySchema(Schema):
    is_on_duty = fields.Boolean(required=True)

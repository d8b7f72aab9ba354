"""Schemas for the tree and staff management."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates

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


class OrgUnitCreateSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(
            r"^[A-Za-z0-9_-]{2,32}$", error="编码只能用 2–32 位字母、数字、-、_"
        ),
    )
    name = Text(required=True, validate=validate.Length(min=1, max=64))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    boundary = fields.Dict(allow_none=True)
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

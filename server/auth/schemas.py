"""Schemas for login and /me."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.auth.models import CITIZEN_ROLES, PLATFORMS
from server.http import DisplayName, LocalDateTime
from server.security import MAX_ID


class LoginSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class PhoneCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StaffSchema(Schema):
    binding_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    role = fields.String()
    role_name = fields.String()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    org_unit_name = fields.String()
    org_unit_level = fields.String()
    is_on_duty = fields.Boolean()


class UserSchema(Schema):
    id = fields.Integer(required=True)
    role = fields.String(
        required=True,
        metadata={
            "description": "rider | resident | grid_worker | community_admin | "
            "street_admin | admin (the staff role when bound)"
        },
    )
    citizen_role = fields.String(required=True)
    display_name = fields.String(allow_none=True)
    avatar_url = fields.String(allow_none=True)
    platform = fields.String(allow_none=True)
    community_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    registered_at = LocalDateTime(allow_none=True)
    is_party_member = fields.Boolean()
    phone = fields.String(
        attribute="phone_masked", allow_none=True, metadata={"description": "138****1234"}
    )
    staff = fields.Nested(StaffSchema, allow_none=True)


class MeSchema(UserSchema):
    extras = fields.Dict(metadata={"description": "figures other parts add, e.g. unread count"})


class LoginResultSchema(Schema):
    token = fields.String(required=True)
    expires_at = LocalDateTime(allow_none=True)
    is_new = fields.Boolean(required=True)
    user = fields.Nested(UserSchema, required=True)


class MePatchSchema(Schema):
    role = fields.String(validate=validate.OneOf(CITIZEN_ROLES))
    display_name = DisplayName(validate=validate.Length(min=1, max=32), allow_none=True)
    avatar_url = fields.Url(
        schemes={"https", "http"}, allow_none=True, validate=validate.Length(max=512)
    )
    platform = fields.String(validate=validate.OneOf(list(PLATFORMS)), allow_none=True)
    community_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    is_party_member = fields.Boolean()


class PhoneResultSchema(Schema):
    phone = fields.String(required=True, metadata={"example": "138****1234"})


class CancelAccountSchema(Schema):
    confirm = fields.String(
        required=True,
        validate=validate.Length(max=16),
        metadata={
            "description": "「注销」, typed or tapped by the user: a call without it changes "
            "nothing (422 `account.confirm_required`)",
            "example": "注销",
        },
    )

"""Schemas of governance posts and claims."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.http import LocalDateTime, PageQuerySchema, Text
from server.posts.models import CLAIM_STATUSES
from server.security import MAX_ID


class PostQuerySchema(PageQuerySchema):
    community_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class ClaimBriefSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    created_at = LocalDateTime()


class PostSchema(Schema):
    id = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    org_unit_name = fields.Function(lambda p: p.org_unit.name)
    name = fields.String()
    description = fields.String()
    capacity = fields.Integer()
    holder_count = fields.Integer()
    duty_points = fields.Integer()
    is_active = fields.Boolean()
    my_claim = fields.Nested(ClaimBriefSchema, allow_none=True, dump_only=True)


class PostWriteSchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    name = Text(required=True, validate=validate.Length(min=2, max=32))
    description = fields.String(validate=validate.Length(max=2000))
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    duty_points = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))
    is_active = fields.Boolean()
    sort = fields.Integer(validate=validate.Range(min=-(2**31), max=2**31 - 1))  # INTEGER


class PostUpdateSchema(PostWriteSchema):
    class Meta:
        exclude = ("org_unit_id",)


class ClaimCreateSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=200))


class DecisionSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=200))


class ClaimSchema(Schema):
    id = fields.Integer()
    post_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    post_name = fields.Function(lambda c: c.post.name)
    org_unit_id = fields.Function(lambda c: c.post.org_unit_id)
    org_unit_name = fields.Function(lambda c: c.post.org_unit.name)
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(metadata={"description": ", ".join(CLAIM_STATUSES)})
    status_name = fields.Function(lambda c: CLAIM_STATUSES.get(c.status, c.status))
    note = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    decided_at = LocalDateTime(allow_none=True)
    ended_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class ClaimQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(CLAIM_STATUSES))
    post_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class AdminPostQuerySchema(PageQuerySchema):
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))

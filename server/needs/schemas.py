"""Schemas of needs and suggestions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.http import LocalDate, LocalDateTime, PageQuerySchema, Text
from server.needs.models import KINDS, STATUSES
from server.security import MAX_ID

KIND_DOC = ", ".join(f"{code} {name}" for code, name in KINDS.items())


class NeedCreateSchema(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(KINDS), metadata={"description": KIND_DOC}
    )
    content = Text(required=True, validate=validate.Length(min=1, max=1000))
    photo_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
        load_default=list,
        validate=validate.Length(max=9),
    )


class PhotoSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    thumb_url = fields.String()


class NeedSchema(Schema):
    id = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    kind = fields.String()
    kind_name = fields.String()
    content = fields.String()
    status = fields.String(metadata={"description": ", ".join(STATUSES)})
    answer = fields.String(allow_none=True)
    answered_at = LocalDateTime(allow_none=True)
    photos = fields.List(fields.Dict())
    created_at = LocalDateTime()


class AdminNeedSchema(NeedSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    content_flag = fields.String(
        metadata={"description": "pass | review (look before sharing) | unchecked"}
    )
    answered_by_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class AdminNeedQuerySchema(PageQuerySchema):
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    date_from = LocalDate(data_key="from")
    date_to = LocalDate(data_key="to")


class AnswerSchema(Schema):
    answer = Text(required=True, validate=validate.Length(min=2, max=2000))


class MonthSchema(Schema):
    month = fields.String()
    total = fields.Integer()
    answered = fields.Integer()
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())


class KindSchema(Schema):
    code = fields.String()
    name = fields.String()


class NeedStatsSchema(Schema):
    kinds = fields.List(fields.Nested(KindSchema))
    months = fields.List(fields.Nested(MonthSchema))

"""Request and response schemas of the inbox, subscriptions and the outbox admin."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.http import LocalDateTime, PageQuerySchema
from server.notifications.models import STATUSES
from server.security import MAX_ID


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    page = fields.String(allow_none=True)
    is_read = fields.Function(lambda n: n.read_at is not None)
    read_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class InboxQuerySchema(PageQuerySchema):
    unread_only = fields.Boolean(load_default=False)


class ReadAllSchema(Schema):
    updated = fields.Integer()
    unread_notifications = fields.Integer()


class SubscriptionReportSchema(Schema):
    accepted = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(max=20),
    )


class CreditSchema(Schema):
    template_id = fields.String()
    count = fields.Integer()


class SubscriptionsSchema(Schema):
    templates = fields.Dict(keys=fields.String(), values=fields.String())
    credits = fields.List(fields.Nested(CreditSchema))
    ignored = fields.List(fields.String())


class OutboxQuerySchema(PageQuerySchema):
    status = fields.String(
        load_default="problems",
        validate=validate.OneOf(("problems", "stuck", *STATUSES)),
        metadata={"description": "problems = failed + stuck (default)"},
    )


class OutboxItemSchema(NotificationSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String()
    channel = fields.String(allow_none=True)
    template_id = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = LocalDateTime(allow_none=True)
    claimed_at = LocalDateTime(allow_none=True)
    sent_at = LocalDateTime(allow_none=True)
    stuck = fields.Boolean()


class OutboxSummarySchema(Schema):
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "pending and sending: all of them; sent, inbox and failed: those "
            "whose last change falls in the last `window_days` days"
        },
    )
    stuck = fields.Integer()
    window_days = fields.Integer(metadata={"description": "the window of the terminal counts"})


class TestNotificationSchema(Schema):
    kind = fields.String(load_default="test", validate=validate.Length(min=1, max=40))

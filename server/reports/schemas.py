"""Request and response schemas for reports, categories and work orders."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.http import (
    AwareInDateTime,
    KeysetPageQuerySchema,
    LocalDate,
    LocalDateTime,
    PageQuerySchema,
    Text,
)
from server.reports.models import STATE_NAMES, STATUS_NAMES
from server.reports.workflow import ACTIONS
from server.security import MAX_ID

Lat = fields.Float(validate=validate.Range(min=-90, max=90), allow_none=True)
Lng = fields.Float(validate=validate.Range(min=-180, max=180), allow_none=True)
PhotoIds = fields.List(
    fields.Integer(validate=validate.Range(min=1, max=MAX_ID)), load_default=list
)


class CategoryQuerySchema(Schema):
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    community_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class CategorySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    icon = fields.String(required=True)
    accept_hours = fields.Integer(required=True)
    resolve_hours = fields.Integer(required=True)
    points_apply = fields.Boolean(required=True)
    hint = fields.String(allow_none=True)
    duplicate_radius_m = fields.Integer(required=True)


class ReportCreateSchema(Schema):
    category_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    description = fields.String(load_default="", validate=validate.Length(max=1000))
    lat = Lat
    lng = Lng
    address = fields.String(allow_none=True, validate=validate.Length(max=255))
    photo_ids = PhotoIds
    self_handled = fields.Boolean(load_default=False)
    anonymous = fields.Boolean(load_default=False)


class DraftSubmitSchema(ReportCreateSchema):
    """As a new report's body; what it leaves out (or sends as null) the draft keeps."""


class PhotoSchema(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    thumb_url = fields.String(required=True)
    width = fields.Integer()
    height = fields.Integer()
    moderation = fields.String()


class ReportCategoryRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    icon = fields.String()
    hint = fields.String(allow_none=True)


class ReportSummarySchema(Schema):
    id = fields.Integer(required=True)
    report_no = fields.String(allow_none=True)
    status = fields.String(required=True, metadata={"description": " | ".join(STATUS_NAMES)})
    status_name = fields.String(required=True)
    category = fields.Nested(ReportCategoryRefSchema, allow_none=True)
    description = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    thumb_url = fields.String(allow_none=True)
    created_at = LocalDateTime()


class TimelineEventSchema(Schema):
    id = fields.Integer(required=True)
    action = fields.String(required=True)
    action_name = fields.String(required=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String(allow_none=True)
    state_name = fields.String(allow_none=True)
    actor_role = fields.String(required=True)
    actor_role_name = fields.String(required=True)
    note = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(PhotoSchema))
    created_at = LocalDateTime(required=True)
    actor_id = fields.Integer(
        allow_none=True,
        metadata={"description": "staff view only"},
        validate=validate.Range(min=1, max=MAX_ID),
    )
    actor_name = fields.String(allow_none=True, metadata={"description": "staff view only"})
    data = fields.Dict(allow_none=True)


class ClockSchema(Schema):
    phase = fields.String(metadata={"description": "accept|resolve|paused|stopped"})
    due_at = LocalDateTime(allow_none=True)
    level = fields.String(metadata={"description": "green|yellow|red|none"})
    ratio = fields.Float(allow_none=True)


class ReportDetailSchema(ReportSummarySchema):
    photos = fields.List(fields.Nested(PhotoSchema))
    reporter = fields.Dict()
    timeline = fields.List(fields.Nested(TimelineEventSchema))
    confirm_count = fields.Integer()
    is_self_handled = fields.Boolean()
    viewer = fields.String(metadata={"description": "owner|follower|public|staff"})
    clock = fields.Nested(ClockSchema)
    merged_into = fields.Dict()
    is_anonymous = fields.Boolean()
    moderation = fields.String()
    channel = fields.String()
    feedback = fields.Dict(allow_none=True)
    can_give_feedback = fields.Boolean()
    work_order_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class DuplicateSchema(ReportSummarySchema):
    distance_m = fields.Integer()
    confirm_count = fields.Integer()


class ReportCreatedSchema(Schema):
    report = fields.Nested(ReportDetailSchema, required=True)
    possible_duplicates = fields.List(fields.Nested(DuplicateSchema), required=True)


class NearbyQuerySchema(Schema):
    category_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class MyReportsQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))


class FeedbackSchema(Schema):
    stars = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(allow_none=True, validate=validate.Length(max=500))
    fixed = fields.Boolean(load_default=True, metadata={"description": "false: 问题未解决"})


class CommentSchema(Schema):
    text = Text(required=True, validate=validate.Length(min=1, max=500))
    photo_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
        load_default=list,
        validate=validate.Length(max=6),
    )


class TransitionSchema(Schema):
    note = fields.String(allow_none=True, validate=validate.Length(max=1000))
    photo_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
        load_default=list,
        validate=validate.Length(max=6),
    )
    assignee_id = fields.Integer(
        allow_none=True,
        metadata={"description": "dispatch/reassign"},
        validate=validate.Range(min=1, max=MAX_ID),
    )
    unit_id = fields.Integer(
        allow_none=True,
        metadata={"description": "dispatch/reassign"},
        validate=validate.Range(min=1, max=MAX_ID),
    )
    hold_until = AwareInDateTime(
        allow_none=True, metadata={"description": "hold (with an offset; 2000–2099)"}
    )
    into_id = fields.Integer(
        allow_none=True,
        metadata={"description": "merge: survivor order"},
        validate=validate.Range(min=1, max=MAX_ID),
    )


class WorkOrderQuerySchema(KeysetPageQuerySchema):
    # One state (`?state=received`) or several, the parameter repeated
    # (`?state=received&state=returned`: 待派单 is both).
    state = fields.List(
        fields.String(validate=validate.OneOf(list(STATE_NAMES))),
        validate=validate.Length(min=1, max=len(STATE_NAMES)),
        metadata={
            "description": "one state, or several with the parameter repeated "
            "(`state=received&state=returned`): " + " | ".join(STATE_NAMES)
        },
    )
    category_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    overdue = fields.Boolean()
    escalated = fields.Boolean()
    flagged = fields.Boolean()
    mine = fields.Boolean()
    date_from = LocalDate()
    date_to = LocalDate()
    moderation = fields.String(validate=validate.OneOf(["pending", "pass", "review", "risky"]))


class WorkOrderExportQuerySchema(WorkOrderQuerySchema):
    class Meta:
        exclude = ("page", "page_size", "before_id")


class WorkOrderSchema(Schema):
    id = fields.Integer(required=True)
    state = fields.String(required=True, metadata={"description": " | ".join(STATE_NAMES)})
    state_name = fields.String(required=True)
    report = fields.Nested(ReportSummarySchema, required=True)
    org_unit = fields.Dict(required=True)
    assignee = fields.Dict(allow_none=True)
    clock = fields.Nested(ClockSchema, required=True)
    accept_due_at = LocalDateTime()
    resolve_due_at = LocalDateTime()
    accepted_at = LocalDateTime(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)
    hold_until = LocalDateTime(allow_none=True)
    escalation_level = fields.Integer()
    escalated_unit = fields.Dict(allow_none=True)
    is_flagged = fields.Boolean()
    flag_reason = fields.String(allow_none=True)
    return_count = fields.Integer()
    reopen_count = fields.Integer()
    created_at = LocalDateTime()
    allowed_actions = fields.List(fields.String(), metadata={"description": " | ".join(ACTIONS)})


class WorkOrderDetailSchema(WorkOrderSchema):
    report_detail = fields.Nested(ReportDetailSchema, required=True)


class StatsQuerySchema(Schema):
    unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    category_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    date_from = LocalDate(
        metadata={
            "description": "first day (Asia/Shanghai), inclusive; default: the last 12 calendar"
            " months — the 1st of the month 11 months before date_to's (or today's) month"
        }
    )
    date_to = LocalDate(metadata={"description": "last day (Asia/Shanghai), inclusive"})


class StatsFiguresSchema(Schema):
    received = fields.Integer()
    resolved = fields.Integer()
    rejected = fields.Integer()
    merged = fields.Integer()
    on_time = fields.Integer()
    on_time_rate = fields.Float(allow_none=True, metadata={"description": "0–1"})
    avg_handling_hours = fields.Float(allow_none=True)
    rated = fields.Integer()
    satisfaction = fields.Float(allow_none=True, metadata={"description": "mean stars 1–5"})


class StatsCategorySchema(StatsFiguresSchema):
    code = fields.String()
    name = fields.String()


class StatsUnitSchema(StatsFiguresSchema):
    unit = fields.Dict()


class StatsMonthSchema(StatsFiguresSchema):
    month = fields.String(metadata={"description": "YYYY-MM (Asia/Shanghai)"})


class StatsSchema(Schema):
    unit = fields.Dict()
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    totals = fields.Nested(StatsFiguresSchema)
    by_category = fields.List(fields.Nested(StatsCategorySchema))
    by_unit = fields.List(fields.Nested(StatsUnitSchema))
    by_month = fields.List(fields.Nested(StatsMonthSchema))


class ModerationDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["approve", "hold"]))
    note = fields.String(allow_none=True, validate=validate.Length(max=500))

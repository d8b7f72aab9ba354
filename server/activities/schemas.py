"""Schemas of activities, enrolments, attendance and service hours."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.activities.models import AUDIENCES, ENROLMENT_STATUSES, KINDS, STATUSES
from server.http import InDateTime, LocalDate, LocalDateTime, PageQuerySchema, Text
from server.security import MAX_ID

KIND_DOC = ", ".join(f"{code} {name}" for code, name in KINDS.items())


class ActivityWriteSchema(Schema):
    org_unit_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))
    title = Text(required=True, validate=validate.Length(min=2, max=64))
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={"description": KIND_DOC})
    description = fields.String(validate=validate.Length(max=5000))
    place = Text(required=True, validate=validate.Length(min=2, max=128))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(validate=validate.Range(min=30, max=5000))
    starts_at = InDateTime(required=True)
    ends_at = InDateTime(required=True)
    signup_deadline = InDateTime(allow_none=True)
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))
    points = fields.Integer(allow_none=True, validate=validate.Range(min=0, max=1000))
    service_hours = fields.Float(allow_none=True, validate=validate.Range(min=0, max=24))
    audience = fields.String(validate=validate.OneOf(AUDIENCES))
    cover_url = fields.String(allow_none=True, validate=validate.Length(max=512))
    cover_upload_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    post_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))


class ActivityUpdateSchema(ActivityWriteSchema):
    """Every field optional (send what changes); the unit of an activity does not change."""

    class Meta:
        exclude = ("org_unit_id",)


class CancelSchema(Schema):
    reason = fields.String(validate=validate.Length(max=200), load_default=None)


class ActivityQuerySchema(PageQuerySchema):
    community_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    kind = fields.String(validate=validate.OneOf(KINDS))
    lat = fields.Float(validate=validate.Range(min=-90, max=90))
    lng = fields.Float(validate=validate.Range(min=-180, max=180))
    radius_m = fields.Integer(validate=validate.Range(min=100, max=50_000))
    when = fields.String(validate=validate.OneOf(("upcoming", "past", "all")))


class AdminActivityQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    kind = fields.String(validate=validate.OneOf(KINDS))
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))


class EnrolmentSchema(Schema):
    id = fields.Integer()
    activity_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    status = fields.String(metadata={"description": ", ".join(ENROLMENT_STATUSES)})
    seq = fields.Integer()
    waitlist_position = fields.Integer(allow_none=True)
    enrolled_at = LocalDateTime(allow_none=True)
    promoted_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    signed_in_at = LocalDateTime(allow_none=True)
    signed_out_at = LocalDateTime(allow_none=True)
    sign_out_method = fields.String(allow_none=True)
    service_minutes = fields.Integer(allow_none=True)
    points_awarded = fields.Integer(allow_none=True)


class ActivitySchema(Schema):
    id = fields.Integer()
    org_unit_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    org_unit_name = fields.Function(lambda a: a.org_unit.name)
    post_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    title = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    place = fields.String()
    lat = fields.Float()
    lng = fields.Float()
    radius_m = fields.Integer()
    starts_at = LocalDateTime()
    ends_at = LocalDateTime()
    signup_deadline = LocalDateTime(attribute="effective_deadline")
    capacity = fields.Integer()
    enrolled_count = fields.Integer()
    waitlist_count = fields.Integer()
    points = fields.Integer(allow_none=True)
    service_hours = fields.Float(allow_none=True)
    audience = fields.String()
    cover_url = fields.Method("_cover_url", allow_none=True)
    status = fields.String()
    distance_m = fields.Integer(allow_none=True, dump_only=True)

    # Who the cover link is for: everyone, once WeChat's check passed it (as report photos)
    COVER_AUDIENCE = "public"

    def _cover_url(self, activity) -> str | None:
        """The uploaded cover (a signed URL) when there is one others may see, else the given
        URL: an upload WeChat has not passed yet is shown to staff only."""
        if activity.cover_upload_id:
            from server.extensions import db
            from server.uploads.models import Upload
            from server.uploads.services import signed_url

            upload = db.session.get(Upload, activity.cover_upload_id)
            if upload is not None and upload.ref_type == "activity_cover":
                if self.COVER_AUDIENCE == "staff" and upload.moderation != "risky":
                    return signed_url(upload, "full", "staff")
                if upload.moderation == "pass":
                    return signed_url(upload, "full")
        return activity.cover_url


class ActivityDetailSchema(ActivitySchema):
    description = fields.String()
    cancel_reason = fields.String(allow_none=True)
    my_enrolment = fields.Nested(EnrolmentSchema, allow_none=True)


class AdminActivitySchema(ActivityDetailSchema):
    COVER_AUDIENCE = "staff"  # staff see their cover before WeChat's verdict
    qr_scene = fields.String()
    created_by_id = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=MAX_ID))
    published_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


class AdminEnrolmentSchema(EnrolmentSchema):
    user_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    display_name = fields.String(allow_none=True)
    citizen_role = fields.String()
    platform = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class EnrolmentQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(ENROLMENT_STATUSES))


class AttendanceScanSchema(Schema):
    scene = fields.String(required=True, validate=validate.Length(min=1, max=256))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    accuracy = fields.Float(load_default=None, validate=validate.Range(min=0))


class AttendanceActivitySchema(Schema):
    id = fields.Integer()
    title = fields.String()
    ends_at = LocalDateTime()


class AttendanceResultSchema(Schema):
    action = fields.String(metadata={"description": "signed_in | signed_out"})
    activity = fields.Nested(AttendanceActivitySchema)
    enrolment_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    signed_in_at = LocalDateTime(allow_none=True)
    signed_out_at = LocalDateTime(allow_none=True)
    sign_out_method = fields.String(allow_none=True)
    service_minutes = fields.Integer(allow_none=True)
    service_hours = fields.Float(allow_none=True)
    points_awarded = fields.Integer(allow_none=True)


class ConfirmSchema(Schema):
    enrolment_ids = fields.List(
        fields.Integer(validate=validate.Range(min=1, max=MAX_ID)),
        required=True,
        validate=validate.Length(min=1, max=500),
    )


class ConfirmResultSchema(Schema):
    enrolment_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    outcome = fields.String(
        metadata={"description": "confirmed | already_signed_out | not_enrolled"}
    )
    service_minutes = fields.Integer(allow_none=True)
    points_awarded = fields.Integer(allow_none=True)


class ConfirmResultsSchema(Schema):
    items = fields.List(fields.Nested(ConfirmResultSchema))


class HoursRowSchema(Schema):
    activity_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    title = fields.String()
    kind = fields.String()
    kind_name = fields.String()
    place = fields.String()
    starts_at = LocalDateTime()
    signed_in_at = LocalDateTime(allow_none=True)
    signed_out_at = LocalDateTime(allow_none=True)
    sign_out_method = fields.String(allow_none=True)
    service_minutes = fields.Integer()
    service_hours = fields.Float()
    points_awarded = fields.Integer(allow_none=True)


class HoursYearSchema(Schema):
    year = fields.Integer()
    minutes = fields.Integer()
    hours = fields.Float()
    activity_count = fields.Integer()


class ServiceHoursSchema(Schema):
    total_minutes = fields.Integer()
    total_hours = fields.Float()
    activity_count = fields.Integer()
    years = fields.List(fields.Nested(HoursYearSchema))
    items = fields.List(fields.Nested(HoursRowSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class CertificateQuerySchema(Schema):
    date_from = LocalDate(data_key="from", load_default=None)
    date_to = LocalDate(data_key="to", load_default=None)


class CertificateSchema(Schema):
    code = fields.String()
    holder_name = fields.String()
    period_from = fields.Date()
    period_to = fields.Date()
    total_minutes = fields.Integer()
    total_hours = fields.Function(lambda c: round(c.total_minutes / 60, 2))
    activity_count = fields.Integer()
    issued_at = LocalDateTime()
    valid = fields.Constant(True)


class ActivityQrQuerySchema(Schema):
    width = fields.Integer(load_default=430, validate=validate.Range(min=280, max=1280))

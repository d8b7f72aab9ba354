"""Activities, enrolment, attendance, service hours and certificates (public and staff)."""

from __future__ import annotations

import csv
import io

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from server.activities import attendance, hours, qr, services
from server.activities.certificate import render_png
from server.activities.schemas import (
    ActivityDetailSchema,
    ActivityQrQuerySchema,
    ActivityQuerySchema,
    ActivitySchema,
    ActivityUpdateSchema,
    ActivityWriteSchema,
    AdminActivityQuerySchema,
    AdminActivitySchema,
    AdminEnrolmentSchema,
    AttendanceResultSchema,
    AttendanceScanSchema,
    CancelSchema,
    CertificateQuerySchema,
    CertificateSchema,
    ConfirmResultsSchema,
    ConfirmSchema,
    EnrolmentQuerySchema,
    EnrolmentSchema,
    PageQuerySchema,
    ServiceHoursSchema,
)
from server.auth.guards import (
    current_scope,
    current_user,
    current_user_or_none,
    login_required,
    staff_required,
)
from server.csv_safe import safe_row
from server.db_replica import reads_from_replica
from server.http import error_responses, page_of

blp = Blueprint(
    "activities", __name__, url_prefix="/api/v1", description="活动、出勤与志愿服务时长"
)


@blp.route("/activities")
class Activities(MethodView):
    @blp.arguments(ActivityQuerySchema, location="query")
    @blp.response(200, page_of(ActivitySchema))
    @error_responses(404)
    def get(self, args):
        """List activities: upcoming first; by community, kind, or near a point."""
        return services.public_page(args)


@blp.route("/activities/<int:activity_id>")
class ActivityDetail(MethodView):
    @blp.response(200, ActivityDetailSchema)
    @error_responses(404)
    def get(self, activity_id):
        """One activity, with the caller's enrolment when logged in."""
        return services.public_detail(current_user_or_none(), activity_id)


@blp.route("/activities/<int:activity_id>/enrolments")
class Enrolments(MethodView):
    @login_required
    @blp.response(201, EnrolmentSchema)
    @error_responses(403, 404, 409)
    def post(self, activity_id):
        """Enrol (`enrolled`), or join the waitlist when full (`waitlisted`)."""
        return services.enrol_view(current_user(), activity_id)


@blp.route("/activities/<int:activity_id>/enrolments/me")
class MyEnrolment(MethodView):
    @login_required
    @blp.response(200, EnrolmentSchema)
    @error_responses(404, 409)
    def delete(self, activity_id):
        """Cancel my enrolment before the start; the first waitlisted person moves up."""
        return services.cancel_enrolment(current_user(), activity_id)


@blp.route("/activities/attendance")
class Attendance(MethodView):
    @login_required
    @blp.arguments(AttendanceScanSchema)
    @blp.response(200, AttendanceResultSchema)
    @error_responses(403, 404, 409)
    def post(self, body):
        """Scan the activity's code on site: the first scan signs in, the next signs out."""
        return attendance.scan(
            current_user(), body["scene"], body["lat"], body["lng"], body.get("accuracy")
        )


@blp.route("/me/service-hours")
class MyServiceHours(MethodView):
    @login_required
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, ServiceHoursSchema)
    def get(self, args):
        """My service hours: totals per year and the activities they come from."""
        return hours.my_service_hours(current_user(), args["page"], args["page_size"])


@blp.route("/me/service-hours/certificate")
class MyCertificate(MethodView):
    @login_required
    @blp.arguments(CertificateQuerySchema, location="query")
    @blp.response(200, content_type="image/png", description="the certificate (PNG)")
    @error_responses(404)
    def get(self, args):
        """A printable certificate (PNG) of my hours in a period, with a verification code."""
        certificate, rows = hours.issue_certificate(
            current_user(), args["date_from"], args["date_to"]
        )
        response = Response(render_png(certificate, rows), mimetype="image/png")
        response.headers["X-Certificate-Code"] = certificate.code
        response.headers["Content-Disposition"] = (
            f'inline; filename="service-hours-{certificate.code}.png"'
        )
        return response


@blp.route("/service-hours/certificates/<code>")
class CertificateCheck(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, CertificateSchema)
    @error_responses(404)
    def get(self, code):
        """Verify a service-hours certificate by its code (staff)."""
        return hours.verify_certificate(code)


# ---- staff -------------------------------------------------------------------------------


@blp.route("/admin/activities")
class AdminActivities(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminActivityQuerySchema, location="query")
    @blp.response(200, page_of(ActivitySchema))
    @error_responses(404)
    def get(self, args):
        """Activities in my subtree (drafts included)."""
        return services.staff_page(current_scope("grid_worker"), args)

    @staff_required("community_admin")
    @blp.arguments(ActivityWriteSchema)
    @blp.response(201, AdminActivitySchema)
    @error_responses(404, 409)
    def post(self, body):
        """Create a draft activity."""
        return services.staff_view(services.create_activity(current_scope("community_admin"), body))


@blp.route("/admin/activities/<int:activity_id>")
class AdminActivityDetail(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, AdminActivitySchema)
    @error_responses(404)
    def get(self, activity_id):
        """One activity with its QR scene."""
        return services.staff_view(services.get_for_staff(current_scope(), activity_id))

    @staff_required("community_admin")
    @blp.arguments(ActivityUpdateSchema(partial=True))
    @blp.response(200, AdminActivitySchema)
    @error_responses(404, 409)
    def patch(self, body, activity_id):
        """Edit a draft or published activity.

        New times are told to everyone enrolled or waitlisted (`activity_rescheduled`), who
        are reminded again before the new start; once anyone has signed in they are refused
        (409 `activity.attendance_started`)."""
        return services.staff_view(
            services.update_activity(current_scope("community_admin"), activity_id, body)
        )


@blp.route("/admin/activities/<int:activity_id>/publish")
class AdminPublish(MethodView):
    @staff_required("community_admin")
    @blp.response(200, AdminActivitySchema)
    @error_responses(404, 409)
    def post(self, activity_id):
        """Publish a draft (enrolment opens). 409 `activity.not_draft`, `activity.already_over`
        (its end has passed: change its times first)."""
        return services.staff_view(
            services.publish_activity(current_scope("community_admin"), activity_id)
        )


@blp.route("/admin/activities/<int:activity_id>/cancel")
class AdminCancel(MethodView):
    @staff_required("community_admin")
    @blp.arguments(CancelSchema)
    @blp.response(200, AdminActivitySchema)
    @error_responses(404, 409)
    def post(self, body, activity_id):
        """Cancel an activity; everyone enrolled or waitlisted is notified."""
        return services.staff_view(
            services.cancel_activity(current_scope("community_admin"), activity_id, body["reason"])
        )


@blp.route("/admin/activities/<int:activity_id>/qrcode.png")
class AdminActivityQrPng(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(ActivityQrQuerySchema, location="query")
    @blp.response(200, content_type="image/png")
    @error_responses(404, 502)
    def get(self, args, activity_id):
        """The activity's sign-in mini-program code (PNG) to print and put up on site."""
        return Response(
            qr.activity_code_png(current_scope(), activity_id, args["width"]),
            mimetype="image/png",
        )


@blp.route("/admin/activities/<int:activity_id>/qr-secret/rotate")
class AdminRotate(MethodView):
    @staff_required("community_admin")
    @blp.response(200, AdminActivitySchema)
    @error_responses(404)
    def post(self, activity_id):
        """Rotate the QR secret: codes printed before stop working."""
        return services.staff_view(
            services.rotate_qr(current_scope("community_admin"), activity_id)
        )


@blp.route("/admin/activities/<int:activity_id>/enrolments")
class AdminEnrolments(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(EnrolmentQuerySchema, location="query")
    @blp.response(200, page_of(AdminEnrolmentSchema))
    @error_responses(404)
    def get(self, args, activity_id):
        """Enrolments of an activity in order of arrival."""
        return services.enrolment_page(current_scope(), activity_id, args)


@blp.route("/admin/activities/<int:activity_id>/enrolments.csv")
class AdminEnrolmentsCsv(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(EnrolmentQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", description="UTF-8 CSV with a BOM (Excel)")
    @error_responses(404)
    @reads_from_replica
    def get(self, args, activity_id):
        """Export the enrolment list as CSV."""
        rows = services.enrolment_rows(current_scope(), activity_id, args.get("status"))
        buffer = io.StringIO()
        csv.writer(buffer).writerows(map(safe_row, services.csv_lines(rows)))
        response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="activity-{activity_id}-enrolments.csv"'
        )
        return response


@blp.route("/admin/activities/<int:activity_id>/attendance")
class AdminAttendance(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(ConfirmSchema)
    @blp.response(200, ConfirmResultsSchema)
    @error_responses(404, 409)
    def post(self, body, activity_id):
        """Confirm attendance from the list once the activity has ended (credited from the
        sign-in, or the start when they never scanned, to the end).

        409 `attendance.not_started` / `attendance.not_ended` before the end; 403
        `attendance.self_confirmation` when the list holds the caller's own enrolment
        (nothing is confirmed then)."""
        return {"items": attendance.confirm(current_scope(), activity_id, body["enrolment_ids"])}

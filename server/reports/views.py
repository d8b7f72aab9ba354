"""Reports (citizens) and work orders (staff, scoped)."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import current_scope, current_user, login_required, staff_required
from server.db_replica import reads_from_replica
from server.extensions import limiter
from server.http import IDEMPOTENCY_HEADER_DOC, error_responses, idempotency_key, page_of
from server.ops.limits import rate_limit
from server.reports import moderation, services, staff, stats, workflow
from server.reports.presenters import confirm_count, report_detail, report_summary
from server.reports.schemas import (
    CategoryQuerySchema,
    CategorySchema,
    CommentSchema,
    DraftSubmitSchema,
    DuplicateSchema,
    FeedbackSchema,
    ModerationDecisionSchema,
    MyReportsQuerySchema,
    NearbyQuerySchema,
    ReportCreatedSchema,
    ReportCreateSchema,
    ReportDetailSchema,
    ReportSummarySchema,
    StatsQuerySchema,
    StatsSchema,
    TransitionSchema,
    WorkOrderDetailSchema,
    WorkOrderExportQuerySchema,
    WorkOrderQuerySchema,
    WorkOrderSchema,
)

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="问题反映与工单")


def _duplicates(pairs, user_id: int) -> list[dict]:
    items = []
    for report, distance in pairs:
        item = report_summary(report, "public", user_id)
        if report.moderation != "pass":  # held: its free text (address too) is not shown
            item["address"] = None
        item["distance_m"] = round(distance)
        item["confirm_count"] = confirm_count(report.id)
        items.append(item)
    return items


@blp.route("/report-categories")
class Categories(MethodView):
    @login_required
    @blp.arguments(CategoryQuerySchema, location="query")
    @blp.response(200, CategorySchema(many=True))
    def get(self, args):
        """The categories where a problem is (by location, community, or your community)."""
        return services.categories_near(current_user(), args)


@blp.route("/reports")
class Reports(MethodView):
    @login_required
    @limiter.shared_limit(rate_limit("REPORT"), scope="report_submit")  # RATE_LIMIT_REPORT
    @blp.arguments(ReportCreateSchema)
    @blp.response(201, ReportCreatedSchema)
    @error_responses(404, 409, 429)
    @blp.doc(
        parameters=[
            {"in": "header", "name": "Idempotency-Key", **IDEMPOTENCY_HEADER_DOC["Idempotency-Key"]}
        ]
    )
    def post(self, body):
        """File a report (a retry with the same Idempotency-Key returns the first one)."""
        user = current_user()
        report, dups, _created = services.submit_report(user, body, idempotency_key())
        return {
            "report": report_detail(report, "owner", user.id),
            "possible_duplicates": _duplicates(dups, user.id),
        }


@blp.route("/reports/nearby")
class Nearby(MethodView):
    @login_required
    @blp.arguments(NearbyQuerySchema, location="query")
    @blp.response(200, DuplicateSchema(many=True))
    @error_responses(404)
    def get(self, args):
        """Open reports of this category close by: '+1' one instead of filing it again."""
        user = current_user()
        return _duplicates(services.nearby(args["category_id"], args["lat"], args["lng"]), user.id)


@blp.route("/me/reports")
class MyReports(MethodView):
    @login_required
    @blp.arguments(MyReportsQuerySchema, location="query")
    @blp.response(200, page_of(ReportSummarySchema))
    def get(self, args):
        """My reports (drafts included), newest first."""
        user = current_user()
        page = services.my_reports(user, args["page"], args["page_size"], args.get("status"))
        page["items"] = [report_summary(r, "owner", user.id) for r in page["items"]]
        return page


@blp.route("/reports/<int:report_id>")
class ReportDetail(MethodView):
    @login_required
    @blp.response(200, ReportDetailSchema)
    @error_responses(404)
    def get(self, report_id):
        """A report with its timeline, as you may see it (public view for other citizens)."""
        user = current_user()
        report, viewer = services.visible_report(user, report_id)
        return report_detail(report, viewer, user.id)


@blp.route("/reports/<int:report_id>/submit")
class SubmitDraft(MethodView):
    @login_required
    @limiter.shared_limit(rate_limit("REPORT"), scope="report_submit")  # RATE_LIMIT_REPORT
    @blp.arguments(DraftSubmitSchema)
    @blp.response(200, ReportDetailSchema)
    @error_responses(404, 409, 429)
    def post(self, body, report_id):
        """Complete and file a draft started by messaging us on WeChat."""
        user = current_user()
        return report_detail(services.submit_draft(user, report_id, body), "owner", user.id)


@blp.route("/reports/<int:report_id>/plus-one")
class PlusOne(MethodView):
    @login_required
    @blp.response(200, ReportDetailSchema)
    @error_responses(404, 409)
    def post(self, report_id):
        """'+1': I see this problem too."""
        user = current_user()
        report = services.plus_one(user, report_id)
        return report_detail(report, "follower", user.id)


@blp.route("/reports/<int:report_id>/comments")
class Comments(MethodView):
    @login_required
    @blp.arguments(CommentSchema)
    @blp.response(201, ReportDetailSchema)
    @error_responses(403, 404, 409)
    def post(self, body, report_id):
        """A message between the reporter and the staff handling the report."""
        user = current_user()
        report = services.add_comment(user, report_id, body["text"], body["photo_ids"])
        return report_detail(report, services.visible_report(user, report_id)[1], user.id)


@blp.route("/reports/<int:report_id>/feedback")
class Feedback(MethodView):
    @login_required
    @blp.arguments(FeedbackSchema)
    @blp.response(200, ReportDetailSchema)
    @error_responses(404, 409)
    def post(self, body, report_id):
        """Rate the handling (1–5); 'not fixed' reopens it once and alerts the street."""
        user = current_user()
        report = services.give_feedback(
            user, report_id, body["stars"], body.get("comment"), body["fixed"]
        )
        return report_detail(report, "owner", user.id)


@blp.route("/work-orders")
class WorkOrders(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(WorkOrderQuerySchema, location="query")
    @blp.response(200, page_of(WorkOrderSchema, keyset=True))
    @error_responses(404)
    def get(self, args):
        """Work orders in your area (filters: state, category, unit, overdue, date…)."""
        return staff.list_orders(current_scope(), args)


@blp.route("/work-orders/export.csv")
class WorkOrderExport(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(WorkOrderExportQuerySchema, location="query")
    @blp.response(200, content_type="text/csv")
    @error_responses(404)
    @reads_from_replica
    def get(self, args):
        """Work orders in your area as CSV for Excel (same filters as the list)."""
        body = stats.export_orders_csv(current_scope(), args)
        return Response(
            body,
            mimetype="text/csv",
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": "attachment; filename=work-orders.csv; "
                "filename*=UTF-8''%E5%B7%A5%E5%8D%95.csv",
            },
        )


@blp.route("/admin/stats")
class Stats(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(StatsQuerySchema, location="query")
    @blp.response(200, StatsSchema)
    @error_responses(404)
    @reads_from_replica
    def get(self, args):
        """Work-order statistics of your area: received, resolved, on time, satisfaction.

        Without date_from, the last 12 calendar months (Asia/Shanghai) up to date_to or today;
        the answer's date_from says which period was counted."""
        return stats.order_stats(current_scope(), args)


@blp.route("/admin/reports/<int:report_id>/moderation")
class ModerationDecision(MethodView):
    @staff_required("community_admin")
    @blp.arguments(ModerationDecisionSchema)
    @blp.response(200, ReportDetailSchema)
    @error_responses(404, 409)
    def post(self, body, report_id):
        """Clear (approve) or hold a report whose content was flagged for review."""
        scope = current_scope("community_admin")
        report = moderation.decide_review(scope, report_id, body["decision"], body.get("note"))
        return report_detail(report, "staff", scope.user.id)


@blp.route("/work-orders/<int:order_id>")
class WorkOrderDetail(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, WorkOrderDetailSchema)
    @error_responses(404)
    def get(self, order_id):
        """One work order with its report, reporter (even when anonymous) and timeline."""
        scope = current_scope()
        return staff.order_view(scope, staff.get_order(scope, order_id), detail=True)


@blp.route("/work-orders/<int:order_id>/<action>")
class WorkOrderAction(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(TransitionSchema)
    @blp.response(200, WorkOrderDetailSchema)
    @error_responses(404, 409)
    @blp.doc(
        parameters=[
            {"in": "header", "name": "Idempotency-Key", **IDEMPOTENCY_HEADER_DOC["Idempotency-Key"]}
        ]
    )
    def post(self, body, order_id, action):
        """Act on a work order: dispatch, reassign, accept, start, resolve, return, hold,
        resume, reject, merge, close (409 when the state does not allow it).

        A retry with the same `Idempotency-Key` (same order, action and body) answers with
        the order as it is now and changes nothing; the key of another request is refused:
        409 `idempotency.key_reused`."""
        scope = current_scope()
        order = workflow.transition(scope, order_id, action, body, idempotency_key())
        return staff.order_view(scope, order, detail=True)

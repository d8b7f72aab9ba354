"""Needs and suggestions (问需): riders and residents submit, community staff answer."""

from __future__ import annotations

import csv
import io

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import current_scope, current_user, login_required, staff_required
from server.csv_safe import safe_row
from server.db_replica import reads_from_replica
from server.http import (
    IDEMPOTENCY_HEADER_DOC,
    PageQuerySchema,
    error_responses,
    idempotency_key,
    page_of,
)
from server.needs import services
from server.needs.schemas import (
    AdminNeedQuerySchema,
    AdminNeedSchema,
    AnswerSchema,
    NeedCreateSchema,
    NeedSchema,
    NeedStatsSchema,
)

blp = Blueprint("needs", __name__, url_prefix="/api/v1", description="问需：困难与建议")


@blp.route("/needs")
class Needs(MethodView):
    @login_required
    @blp.arguments(NeedCreateSchema)
    @blp.response(201, NeedSchema)
    @error_responses(403, 404, 409)
    @blp.doc(
        parameters=[{"in": "header", "name": k, **v} for k, v in IDEMPOTENCY_HEADER_DOC.items()]
    )
    def post(self, body):
        """Submit a difficulty or suggestion to my community.

        A retry with the same `Idempotency-Key` answers with the need it recorded; the key
        of a different need is refused: 409 `idempotency.key_reused`."""
        need, _ = services.submit_need(current_user(), body, idempotency_key())
        return services.get_own(need)


@blp.route("/me/needs")
class MyNeeds(MethodView):
    @login_required
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_of(NeedSchema))
    def get(self, args):
        """My needs and their answers, newest first."""
        return services.my_needs(current_user(), args)


@blp.route("/admin/needs")
class AdminNeeds(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminNeedQuerySchema, location="query")
    @blp.response(200, page_of(AdminNeedSchema))
    @error_responses(404)
    def get(self, args):
        """Needs in my subtree: open first, then newest."""
        return services.staff_needs(current_scope(), args)


@blp.route("/admin/needs/export.csv")
class AdminNeedsExport(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminNeedQuerySchema, location="query")
    @blp.response(200, content_type="text/csv", description="UTF-8 CSV with a BOM (Excel)")
    @error_responses(404)
    @reads_from_replica
    def get(self, args):
        """Export needs as CSV (same filters as the list)."""
        buffer = io.StringIO()
        csv.writer(buffer).writerows(map(safe_row, services.export_rows(current_scope(), args)))
        response = Response("\ufeff" + buffer.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = 'attachment; filename="needs.csv"'
        return response


@blp.route("/admin/needs/stats")
class AdminNeedStats(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminNeedQuerySchema, location="query")
    @blp.response(200, NeedStatsSchema)
    @error_responses(404)
    @reads_from_replica
    def get(self, args):
        """Counts by kind per month (Shanghai time)."""
        return services.monthly_counts(current_scope(), args)


@blp.route("/admin/needs/<int:need_id>")
class AdminNeed(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, AdminNeedSchema)
    @error_responses(404)
    def get(self, need_id):
        """One need in my subtree."""
        return services.get_for_staff(current_scope(), need_id)


@blp.route("/admin/needs/<int:need_id>/answer")
class AnswerNeed(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AnswerSchema)
    @blp.response(200, AdminNeedSchema)
    @error_responses(404, 409)
    def post(self, body, need_id):
        """Answer a need; the submitter is notified."""
        return services.answer_need(current_scope(), need_id, body["answer"])

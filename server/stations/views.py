"""Stations for riders (nearby, detail), check-in, and station management for staff."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth.guards import (
    current_principal,
    current_scope,
    login_required,
    staff_required,
    token_claims,
    token_required,
)
from server.clock import isoformat
from server.db_replica import replica_reads
from server.errors import DomainError
from server.http import (
    IDEMPOTENCY_HEADER_DOC,
    PageQuerySchema,
    error_responses,
    fast_response,
    idempotency_key,
    page_of,
    paginate,
)
from server.stations import checkins, qr, services
from server.stations.models import CheckIn
from server.stations.schemas import (
    AdminCheckinQuerySchema,
    AdminCheckinSchema,
    AdminStationQuerySchema,
    AdminStationSchema,
    CheckinRequestSchema,
    CheckinResultSchema,
    CheckinSchema,
    NearbyQuerySchema,
    NearbyResultSchema,
    QrQuerySchema,
    StationPatchSchema,
    StationSchema,
    StationWriteSchema,
)

NEARBY_RESULT, CHECKIN_RESULT = NearbyResultSchema(), CheckinResultSchema()

blp = Blueprint("stations", __name__, url_prefix="/api/v1", description="驿站与扫码打卡")


@blp.route("/stations/nearby")
class NearbyStations(MethodView):
    @blp.arguments(NearbyQuerySchema(), location="query")  # an instance: not rebuilt per request
    @blp.response(200, NearbyResultSchema)
    def get(self, args):
        """Active stations near a point, nearest first, with distance, open-now and services."""
        return fast_response(NEARBY_RESULT, {"items": services.nearby(**args)})


@blp.route("/stations/<int:station_id>")
class StationDetail(MethodView):
    @blp.response(200, StationSchema)
    @error_responses(404)
    def get(self, station_id):
        """One active station."""
        return services.public_station(station_id)


@blp.route("/checkins")
class Checkins(MethodView):
    # The service reads the rider's principal in its first Redis round trip, and limits
    # attempts per rider (CHECKIN_RATE_PER_MINUTE).
    @token_required
    @blp.arguments(CheckinRequestSchema())
    @blp.response(201, CheckinResultSchema)
    @error_responses(400, 403, 409, 429)
    @blp.doc(
        parameters=[{"in": "header", "name": k, **v} for k, v in IDEMPOTENCY_HEADER_DOC.items()]
    )
    def post(self, body):
        """Check in at a station by its scanned scene and the rider's location.

        Refusals (each recorded for staff, with a Chinese `message` saying what to do):
        400 `checkin.invalid_scene` (malformed, unknown, forged or rotated code),
        `checkin.station_inactive`, `checkin.poor_accuracy`, `checkin.out_of_range`
        (`details.distance_m`, `radius_m`), `checkin.impossible_travel`,
        `checkin.daily_cap_reached`; 403 `checkin.not_registered`; 409
        `checkin.already_checked_in` (and `idempotency.key_reused`: the key of a check-in
        at another station, not recorded); 429 `checkin.rate_limited` (`Retry-After`). At
        a closed station the check-in succeeds with status `closed` and no points."""
        result = checkins.perform_check_in(token_claims(), key=idempotency_key(), **body)
        if result["replayed"]:
            return result  # the stored check-in row, dumped by the schema
        sent = {**result, "checkin": {**result["checkin"]}}
        sent["checkin"]["created_at"] = isoformat(sent["checkin"]["created_at"])
        return fast_response(CHECKIN_RESULT, result, sent), 201


@blp.route("/me/checkins")
class MyCheckins(MethodView):
    @login_required
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_of(CheckinSchema))
    def get(self, args):
        """My check-ins, newest first (refused attempts included, with their reason)."""
        page = paginate(
            checkins.my_checkins(current_principal().id), args["page"], args["page_size"]
        )
        page["items"] = checkins.with_station_names(page["items"])
        return page


@blp.route("/admin/stations")
class AdminStations(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminStationQuerySchema, location="query")
    @blp.response(200, page_of(AdminStationSchema))
    @error_responses(404)
    def get(self, args):
        """Stations in my subtree."""
        stmt = services.list_stations(current_scope(), args)
        return paginate(stmt, args["page"], args["page_size"])

    @staff_required("community_admin")
    @blp.arguments(StationWriteSchema)
    @blp.response(201, AdminStationSchema)
    @error_responses(404)
    def post(self, body):
        """Add a station (community admins and above, within their subtree)."""
        return services.create_station(current_scope("community_admin"), body)


@blp.route("/admin/stations/<int:station_id>")
class AdminStation(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, AdminStationSchema)
    @error_responses(404)
    def get(self, station_id):
        """A station with its current signed QR scene."""
        return services.station_in_scope(current_scope(), station_id)

    @staff_required("community_admin")
    @blp.arguments(StationPatchSchema)
    @blp.response(200, AdminStationSchema)
    @error_responses(404, 409)
    def patch(self, body, station_id):
        """Edit a station; `is_active: false` deactivates it."""
        return services.update_station(current_scope("community_admin"), station_id, body)

    @staff_required("community_admin")
    @blp.response(200, AdminStationSchema)
    @error_responses(404)
    def delete(self, station_id):
        """Deactivate a station (history is kept)."""
        return services.update_station(
            current_scope("community_admin"), station_id, {"is_active": False}
        )


@blp.route("/admin/stations/<int:station_id>/rotate-qr")
class RotateQr(MethodView):
    @staff_required("community_admin")
    @blp.response(200, AdminStationSchema)
    @error_responses(404)
    def post(self, station_id):
        """Rotate the station's QR secret: codes printed before stop working."""
        return services.rotate_qr(current_scope("community_admin"), station_id)


@blp.route("/admin/stations/<int:station_id>/qrcode.png")
class StationQrPng(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(QrQuerySchema, location="query")
    @blp.response(200, content_type="image/png")
    @error_responses(404, 409, 502)
    def get(self, args, station_id):
        """The station's mini-program code (PNG); `variant=poster` gives the printable poster
        (409 `station.inactive` for a deactivated station: every scan of it is refused)."""
        station = services.station_in_scope(current_scope(), station_id)
        if args["variant"] == "poster":
            _printable(station)
            data = qr.poster_png(station)
        else:
            data = qr.station_code_png(station, args["width"])
        return Response(data, mimetype="image/png")


@blp.route("/admin/stations/<int:station_id>/poster.pdf")
class StationPosterPdf(MethodView):
    @staff_required("grid_worker")
    @blp.response(200, content_type="application/pdf")
    @error_responses(404, 409, 502)
    def get(self, station_id):
        """A printable A5 poster (PDF): the station's name and its code (409 `station.inactive`
        for a deactivated station)."""
        station = services.station_in_scope(current_scope(), station_id)
        _printable(station)
        response = Response(qr.poster_pdf(station), mimetype="application/pdf")
        response.headers["Content-Disposition"] = f'inline; filename="station-{station.id}.pdf"'
        return response


def _printable(station) -> None:
    """A poster of a deactivated station would be printed and hung for every scan of it to be
    refused (and each print spends WeChat's code quota)."""
    if not station.is_active:
        raise DomainError(
            "station.inactive", f"{station.name}已停用，请先启用后再打印二维码海报", 409
        )


@blp.route("/admin/checkins")
class AdminCheckins(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(AdminCheckinQuerySchema, location="query")
    @blp.response(200, page_of(AdminCheckinSchema, keyset=True))
    def get(self, args):
        """Check-ins and refused attempts in my subtree; `format=csv` exports them all (up to
        50,000 rows: more is refused with `export.too_many_rows`, narrow the dates)."""
        stmt = checkins.admin_checkins(current_scope(), args)
        if args["format"] == "csv":
            with replica_reads():
                return _csv(stmt)
        page = paginate(
            stmt,
            args["page"],
            args["page_size"],
            keyset=CheckIn.id,
            before_id=args.get("before_id"),
        )
        page["items"] = checkins.with_station_names(page["items"])
        return page


def _csv(stmt) -> Response:
    response = Response(checkins.export_csv(stmt), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="checkins.csv"'
    return response

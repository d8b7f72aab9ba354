"""The in-app inbox, subscription reports, and the outbox admin."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth import services as auth_services
from server.auth.guards import current_user, login_required, staff_required
from server.http import error_responses, page_of, paginate
from server.notifications import admin, services
from server.notifications.schemas import (
    InboxQuerySchema,
    NotificationSchema,
    OutboxItemSchema,
    OutboxQuerySchema,
    OutboxSummarySchema,
    ReadAllSchema,
    SubscriptionReportSchema,
    SubscriptionsSchema,
    TestNotificationSchema,
)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="消息与订阅")


def _unread_extra(user) -> dict:
    return {"unread_notifications": services.unread_count(user.id)}


if _unread_extra not in auth_services.me_extras:
    auth_services.me_extras.append(_unread_extra)


@blp.route("/me/notifications")
class Inbox(MethodView):
    @login_required
    @blp.arguments(InboxQuerySchema, location="query")
    @blp.response(200, page_of(NotificationSchema))
    def get(self, args):
        """My notifications, unread first, newest first."""
        stmt = services.inbox_query(current_user().id, args["unread_only"])
        return paginate(stmt, args["page"], args["page_size"])


@blp.route("/me/notifications/<int:notification_id>/read")
class ReadOne(MethodView):
    @login_required
    @blp.response(200, NotificationSchema)
    @error_responses(404)
    def post(self, notification_id):
        """Mark one of my notifications read."""
        return services.mark_read(current_user().id, notification_id)


@blp.route("/me/notifications/read-all")
class ReadAll(MethodView):
    @login_required
    @blp.response(200, ReadAllSchema)
    def post(self):
        """Mark all my notifications read."""
        return {"updated": services.mark_all_read(current_user().id), "unread_notifications": 0}


@blp.route("/me/subscriptions")
class Subscriptions(MethodView):
    @login_required
    @blp.response(200, SubscriptionsSchema)
    def get(self):
        """Template ids to request per notification kind, and my remaining credits."""
        return services.subscription_view(current_user().id)

    @login_required
    @blp.arguments(SubscriptionReportSchema)
    @blp.response(200, SubscriptionsSchema)
    def post(self, body):
        """Report the templates I accepted in wx.requestSubscribeMessage (one send each)."""
        return services.record_client_subscriptions(current_user().id, body["accepted"])


@blp.route("/admin/notifications")
class Outbox(MethodView):
    @staff_required("admin")
    @blp.arguments(OutboxQuerySchema, location="query")
    @blp.response(200, page_of(OutboxItemSchema))
    def get(self, args):
        """Failed and stuck notifications (or any delivery state), system admins only."""
        result = paginate(admin.outbox_query(args["status"]), args["page"], args["page_size"])
        for row in result["items"]:
            row.stuck = admin.is_stuck(row)
        return result


@blp.route("/admin/notifications/summary")
class OutboxSummary(MethodView):
    @staff_required("admin")
    @blp.response(200, OutboxSummarySchema)
    def get(self):
        """How many notifications are in each delivery state."""
        return admin.outbox_summary()


@blp.route("/admin/notifications/<int:notification_id>/retry")
class Retry(MethodView):
    @staff_required("admin")
    @blp.response(200, OutboxItemSchema)
    @error_responses(404, 409)
    def post(self, notification_id):
        """Send a failed or stuck notification again."""
        row = admin.retry(notification_id)
        row.stuck = False
        return row


@blp.route("/admin/notifications/test")
class SendTest(MethodView):
    @staff_required("grid_worker")
    @blp.arguments(TestNotificationSchema)
    @blp.response(201, NotificationSchema)
    def post(self, body):
        """Send myself a test notification (checks subscription, worker and WeChat).

        A real send: as a subscribe message (not an official-account template message) it
        spends one of my subscription credits for that kind's template, like any notification
        (WeChat allows one message per acceptance). Left without a credit, the next real alert
        with that template reaches me in the in-app inbox only ("no subscription credit"):
        accept the subscription again in the mini-program after testing.
        """
        return admin.send_test(current_user(), body["kind"])

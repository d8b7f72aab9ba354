"""The mini-program pages the server links to (notifications, customer-service cards).

One place, so a page the client moves is one line to change; tests check each path
names a page the mini-program has (miniprogram/src/app.json).
"""

from __future__ import annotations

REPORT_DETAIL = "packages/reports/detail/index?id={id}"
WORK_ORDER_DETAIL = "packages/staff/work-order-detail/index?id={id}"
ACTIVITY_DETAIL = "packages/activities/detail/index?id={id}"
POSTS = "packages/activities/posts/index"
NEEDS = "packages/activities/needs/index"
NOTIFICATIONS = "packages/profile/notifications/index"
REDEMPTIONS = "packages/points/redemptions/index"
CHECKIN_SCAN = "packages/checkin/scan/index"

ALL = [
    REPORT_DETAIL,
    WORK_ORDER_DETAIL,
    ACTIVITY_DETAIL,
    POSTS,
    NEEDS,
    NOTIFICATIONS,
    REDEMPTIONS,
    CHECKIN_SCAN,
]

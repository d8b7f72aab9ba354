"""An activity's mini-program code for printing (wxacode.getUnlimited, like stations)."""

from __future__ import annotations

from flask import current_app

from server.activities.services import get_for_staff, qr_scene
from server.auth.guards import Scope
from server.wechat.codes import jpeg_to_png, wxacode_jpeg

DEFAULT_PAGE = "packages/activities/detail/index"


def activity_code_png(scope: Scope, activity_id: int, width: int = 430) -> bytes:
    """The code of an activity in the caller's subtree (its signed sign-in scene), as PNG."""
    activity = get_for_staff(scope, activity_id)
    page = current_app.config.get("ACTIVITY_QR_PAGE", DEFAULT_PAGE)
    jpeg = wxacode_jpeg(qr_scene(activity), page, width, f"act:qr:{activity.id}", "activity")
    return jpeg_to_png(jpeg)

"""The WeChat channels: mini-program subscribe messages, and official-account template
messages for staff when an official account is configured (openid through the unionid)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from server.auth.models import User
from server.extensions import db
from server.notifications.config import Template, oa_settings, setting
from server.notifications.fields import build_data
from server.notifications.models import Notification, OfficialAccountFollower
from server.wechat import get_client
from server.wechat.api import send_subscribe_message


def send_subscribe(notification: Notification, user: User, template: Template) -> dict[str, Any]:
    """message/subscribe/send with miniprogram_state and lang; raises WeChatError."""
    return send_subscribe_message(
        get_client(),
        user.openid,
        template.template_id,
        build_data(template.fields, notification),
        page=notification.page,
        miniprogram_state=current_app.config.get("WECHAT_MINIPROGRAM_STATE") or "formal",
        lang=setting("NOTIFY_LANG"),
    )


def oa_openid_for(user_id: int) -> str | None:
    """The staff member's official-account openid, if the official account is configured,
    the user is staff with a unionid, and follows the account."""
    if oa_settings() is None:
        return None
    from server.auth.guards import active_binding

    user = db.session.get(User, user_id)
    if user is None or not user.unionid or active_binding(user) is None:
        return None
    return db.session.execute(
        select(OfficialAccountFollower.oa_openid).where(
            OfficialAccountFollower.unionid == user.unionid,
            OfficialAccountFollower.is_following.is_(True),
        )
    ).scalar_one_or_none()


def oa_client():
    client = current_app.extensions.get("wechat_oa_client")
    if client is None:
        from server.extensions import get_redis
        from server.wechat.client import build_client

        oa = oa_settings()
        config = {**current_app.config, "WECHAT_APPID": oa["appid"], "WECHAT_SECRET": oa["secret"]}
        client = build_client(config, get_redis())
        current_app.extensions["wechat_oa_client"] = client
    return client


def send_oa_template(notification: Notification, oa_openid: str) -> dict[str, Any]:
    """message/template/send opening the mini-program page; raises WeChatError."""
    oa = oa_settings()
    spec = oa["templates"][notification.kind]
    data = build_data(spec.get("fields") or {}, notification)
    body: dict[str, Any] = {"touser": oa_openid, "template_id": spec["template_id"], "data": data}
    if notification.page:
        body["miniprogram"] = {
            "appid": current_app.config["WECHAT_APPID"],
            "pagepath": notification.page,
        }
    return oa_client().post("message/template/send", data=body)


def record_oa_follower(unionid: str, oa_openid: str, following: bool = True) -> None:
    """Remember (or forget) an official-account follower by unionid. No commit."""
    row = db.session.execute(
        select(OfficialAccountFollower).where(OfficialAccountFollower.unionid == unionid)
    ).scalar_one_or_none()
    if row is None:
        db.session.add(
            OfficialAccountFollower(unionid=unionid, oa_openid=oa_openid, is_following=following)
        )
    else:
        row.oa_openid, row.is_following = oa_openid, following

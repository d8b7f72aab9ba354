"""WeChat push events about subscribe messages (registered in server.WECHAT_EVENT_HANDLERS).

Each handler takes the decrypted push as a dict, JSON form (`List` a list) or XML form
(`List` a dict for one item, a list for several), and commits its own changes.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from server.auth.models import User
from server.extensions import db
from server.notifications import services
from server.notifications.models import Notification

log = logging.getLogger(__name__)


def _items(message: dict[str, Any]) -> list[dict[str, Any]]:
    items = message.get("List") or message.get("list") or []
    if isinstance(items, dict):
        inner = items.get("item")
        items = inner if inner is not None else [items]
    if isinstance(items, dict):
        items = [items]
    return [item for item in items if isinstance(item, dict)]


def _user(message: dict[str, Any]) -> User | None:
    openid = message.get("FromUserName")
    if not openid:
        return None
    return db.session.execute(select(User).where(User.openid == openid)).scalar_one_or_none()


def on_popup(message: dict[str, Any]) -> int:
    """subscribe_msg_popup_event: each `accept` is one credit (unless the client already
    reported it). Returns the number of credits added."""
    user = _user(message)
    if user is None:
        return 0
    added = 0
    for item in _items(message):
        template_id = item.get("TemplateId")
        status = item.get("SubscribeStatusString")
        if template_id and status == "accept":
            added += services.add_accept(user.id, template_id, "event")
    db.session.commit()
    return added


def on_change(message: dict[str, Any]) -> int:
    """subscribe_msg_change_event: a template switched off (`reject`) loses its credits."""
    user = _user(message)
    if user is None:
        return 0
    cleared = 0
    for item in _items(message):
        template_id = item.get("TemplateId")
        if template_id and item.get("SubscribeStatusString") == "reject":
            services.clear_credits(user.id, template_id)
            cleared += 1
    db.session.commit()
    return cleared


def on_sent(message: dict[str, Any]) -> int:
    """subscribe_msg_sent_event: a refusal (43101) clears the credits; the result is noted
    on the notification (by MsgID). Returns the number of failures."""
    user = _user(message)
    if user is None:
        return 0
    failures = 0
    for item in _items(message):
        code = str(item.get("ErrorCode", "0"))
        if code == "0":
            continue
        failures += 1
        template_id = item.get("TemplateId")
        if code == "43101" and template_id:
            services.clear_credits(user.id, template_id)
        msgid = item.get("MsgID") or item.get("MsgId")
        if msgid:
            row = db.session.execute(
                select(Notification).where(
                    Notification.user_id == user.id, Notification.wechat_msgid == str(msgid)
                )
            ).scalar_one_or_none()
            if row is not None:
                row.last_error = f"push {code}: {item.get('ErrorStatus') or ''}"[:255]
        log.info("subscribe message to user %s not delivered: %s", user.id, code)
    db.session.commit()
    return failures

"""Push events the sandbox would send to the app's message-push URL (wxa_media_check)."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from server.wechat.sandbox.validation import classify_media


def original_id(appid: str) -> str:
    """The sandbox mini-program's original id (ToUserName in pushes)."""
    return "gh_" + hashlib.sha256(appid.encode()).hexdigest()[:12]


def media_check(appid: str, trace_id: str, openid: str | None, body: dict[str, Any]) -> dict:
    """The pending check: request fields plus the `wxa_media_check` event WeChat would push."""
    suggest, label = classify_media(body["media_url"])
    version = 2 if body.get("version") == 2 else 1
    event: dict[str, Any] = {
        "ToUserName": original_id(appid),
        "FromUserName": openid or "o_wechat_system",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": appid,
        "trace_id": trace_id,
        "version": version,
    }
    if version == 2:
        prob = 90 if suggest != "pass" else 0
        event["detail"] = [
            {
                "strategy": "content_model",
                "errcode": 0,
                "suggest": suggest,
                "label": label,
                "prob": prob,
            }
        ]
        event["errcode"] = 0
        event["errmsg"] = "ok"
        event["result"] = {"suggest": suggest, "label": label}
    else:
        event["isrisky"] = 1 if suggest == "risky" else 0
        event["extra_info_json"] = ""
        event["status_code"] = 0
    return {
        "trace_id": trace_id,
        "openid": openid,
        "media_url": body["media_url"],
        "media_type": body.get("media_type"),
        "scene": body.get("scene"),
        "version": version,
        "suggest": suggest,
        "label": label,
        "event": event,
        "event_xml": to_xml(event),
    }


def to_xml(event: dict[str, Any]) -> str:
    """The XML form of a push event (the format `wechatpy.parse_message` reads)."""
    return "<xml>" + "".join(_node(k, v) for k, v in event.items()) + "</xml>"


def _node(key: str, value: Any) -> str:
    if isinstance(value, list):
        return "".join(_node(key, item) for item in value)
    if isinstance(value, dict):
        return f"<{key}>" + "".join(_node(k, v) for k, v in value.items()) + f"</{key}>"
    if isinstance(value, int | float):
        return f"<{key}>{value}</{key}>"
    text = str(value).replace("]]>", "]]]]><![CDATA[>")
    return f"<{key}><![CDATA[{text}]]></{key}>"

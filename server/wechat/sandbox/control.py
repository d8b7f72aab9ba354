"""Control and inspection endpoints under /sandbox/ (not part of WeChat's API)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request
from markupsafe import escape

from server.wechat.sandbox.app import state
from server.wechat.sandbox.state import Fault

control = Blueprint("sandbox_control", __name__)


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _ok(**fields: Any) -> Response:
    return jsonify({"ok": True, **fields})


@control.get("/calls")
def list_calls():
    return jsonify(state().list_calls(request.args.get("path")))


@control.delete("/calls")
def clear_calls():
    state().clear_calls()
    return _ok()


@control.get("/state")
def summary():
    return jsonify(state().summary())


@control.post("/faults")
def add_fault():
    body = _body()
    path = body.get("path")
    if not isinstance(path, str) or not path:
        abort(400)
    fault = Fault(
        errcode=body.get("errcode"),
        http_status=body.get("http_status"),
        delay_seconds=body.get("delay_seconds"),
        times=int(body.get("times", 1)),
    )
    if fault.errcode is None and fault.http_status is None and fault.delay_seconds is None:
        abort(400)
    state().add_fault("/" + path.lstrip("/"), fault)
    return _ok(faults=state().list_faults())


@control.get("/faults")
def list_faults():
    return jsonify(state().list_faults())


@control.delete("/faults")
def clear_faults():
    state().clear_faults()
    return _ok()


@control.post("/subscriptions")
def grant_subscription():
    body = _body()
    openid, template_id = body.get("openid"), body.get("template_id")
    if not openid or not template_id:
        abort(400)
    count = state().grant(openid, template_id, int(body.get("count", 1)))
    return _ok(openid=openid, template_id=template_id, count=count)


@control.get("/subscriptions")
def list_subscriptions():
    return jsonify(state().subscriptions(request.args.get("openid")))


@control.post("/users")
def add_user():
    """Make an openid known without a login (WeChat knows every user; the sandbox learns)."""
    openid = _body().get("openid")
    if not openid:
        abort(400)
    state().add_user(openid)
    return _ok(openid=openid)


@control.post("/tokens/expire")
def expire_tokens():
    return _ok(tokens=state().mark_tokens("expired"))


@control.post("/tokens/invalidate")
def invalidate_tokens():
    return _ok(tokens=state().mark_tokens("invalid"))


@control.post("/media")
def upload_media():
    upload = request.files.get("media")
    if upload is not None:
        data, content_type = upload.read(), upload.mimetype or "image/jpeg"
    else:
        data = request.get_data()
        content_type = request.mimetype or "image/jpeg"
        if content_type in ("application/octet-stream", "application/x-www-form-urlencoded"):
            content_type = "image/jpeg"
    if not data:
        abort(400)
    media_id, created_at = state().add_media(data, content_type)
    return jsonify({"type": "image", "media_id": media_id, "created_at": created_at})


@control.get("/media-checks")
def media_checks():
    return jsonify(state().list_media_checks())


@control.get("/messages")
def messages():
    """Subscribe and customer-service messages the sandbox accepted, oldest first."""
    return jsonify(state().list_messages())


@control.post("/reset")
def reset():
    state().reset()
    return _ok()


@control.get("/")
def index():
    calls = list(reversed(state().list_calls()))[:200]
    rows = "".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td><pre>{}</pre></td></tr>".format(
            c["seq"],
            escape(c["time"][11:19]),
            escape(c["method"]),
            escape(c["path"]),
            escape(str(c["errcode"])),
            escape(c.get("errmsg") or ""),
            escape(json.dumps({"args": c["args"], "body": c["body"]}, ensure_ascii=False)[:600]),
        )
        for c in calls
    )
    summary = escape(json.dumps(state().summary(), ensure_ascii=False, indent=1))
    page = f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="5"><title>微信沙箱 WeChat sandbox</title>
<style>body{{font:14px sans-serif;margin:1em}}td,th{{border-bottom:1px solid #ddd;padding:3px
6px;vertical-align:top;text-align:left}}pre{{margin:0;white-space:pre-wrap;max-width:60em}}</style>
</head><body><h1>微信沙箱 WeChat sandbox</h1>
<p>本页每 5 秒刷新 (refreshes every 5 s). JSON: <a href="calls">calls</a> ·
<a href="state">state</a> · <a href="media-checks">media-checks</a> ·
<a href="messages">messages</a></p>
<details><summary>状态 State</summary><pre>{summary}</pre></details>
<h2>收到的调用 Calls received (newest first)</h2>
<table><tr><th>#</th><th>时间 UTC</th><th>方法</th><th>路径 Path</th><th>errcode</th>
<th>errmsg</th><th>参数 Request</th></tr>{rows}</table></body></html>"""
    return Response(page, mimetype="text/html")

"""WeChat integration: one client factory, the callback endpoint, and the sandbox."""

from __future__ import annotations

from flask import current_app


def get_client():
    """This app's mini-program WeChatClient (built once per process, token in Redis)."""
    client = current_app.extensions.get("wechat_client")
    if client is None:
        from server.extensions import get_redis
        from server.wechat.client import build_client

        client = build_client(current_app.config, get_redis())
        current_app.extensions["wechat_client"] = client
    return client

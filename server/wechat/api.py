"""The WeChat calls the app makes, as plain functions over a client from `build_client`.

Each raises `WeChatError` (WeChat refused; `.errcode`) or `WeChatUnavailable` (retry later).
"""

from __future__ import annotations

from typing import Any

from server.wechat.client import FengchaoWeChatClient
from server.wechat.errors import WeChatError

WXACODE_WIDTH = 430


def code_to_session(client: FengchaoWeChatClient, code: str) -> dict[str, Any]:
    """Exchange a wx.login code: {"openid", "session_key", "unionid"?}.

    session_key is a secret: never log it, never send it to the mini-program.
    jscode2session does not take an access_token, so none is fetched or sent for a login.
    """
    return client.get(
        "sns/jscode2session",
        api_base_url=client.api_base_url,
        with_access_token=False,
        params={
            "appid": client.appid,
            "secret": client.secret,
            "js_code": code,
            "grant_type": "authorization_code",
        },
    )


def get_phone_number(client: FengchaoWeChatClient, code: str) -> dict[str, Any]:
    """Exchange a getPhoneNumber code: phone_info {"phoneNumber", "purePhoneNumber", ...}."""
    return client.wxa.get_phone_number(code)["phone_info"]


def send_subscribe_message(
    client: FengchaoWeChatClient,
    openid: str,
    template_id: str,
    data: dict[str, Any],
    page: str | None = None,
    miniprogram_state: str = "formal",
    lang: str = "zh_CN",
) -> dict[str, Any]:
    """Send a subscribe message; `data` values may be plain strings or {"value": ...}."""
    body: dict[str, Any] = {
        "touser": openid,
        "template_id": template_id,
        "data": {k: v if isinstance(v, dict) else {"value": str(v)} for k, v in data.items()},
        "miniprogram_state": miniprogram_state,
        "lang": lang,
    }
    if page:
        body["page"] = page
    return client.post("message/subscribe/send", data=body)


def send_custom_text(client: FengchaoWeChatClient, openid: str, text: str) -> dict[str, Any]:
    """A customer-service text message (only within WeChat's reply window)."""
    return client.message.send_text(openid, text)


def send_custom_miniprogram_page(
    client: FengchaoWeChatClient,
    openid: str,
    title: str,
    pagepath: str,
    thumb_media_id: str | None = None,
) -> dict[str, Any]:
    """A customer-service mini-program card; WeChat requires thumb_media_id (upload_temp_image)."""
    card: dict[str, Any] = {"title": title, "pagepath": pagepath}
    if thumb_media_id:
        card["thumb_media_id"] = thumb_media_id
    return client.message.send_mini_program_page(openid, card)


def upload_temp_image(
    client: FengchaoWeChatClient, data: bytes, filename: str = "image.jpg"
) -> str:
    """Upload a temporary image (3 days) for customer-service messages; returns media_id."""
    result = client.post(
        "media/upload", params={"type": "image"}, files={"media": (filename, data, "image/jpeg")}
    )
    return result["media_id"]


def get_wxacode_unlimited(
    client: FengchaoWeChatClient,
    scene: str,
    page: str | None = None,
    width: int = WXACODE_WIDTH,
    check_path: bool = False,
    env_version: str = "release",
) -> bytes:
    """A mini-program code image (JPEG bytes) opening `page` with `scene` (≤32 chars)."""
    body: dict[str, Any] = {
        "scene": scene,
        "width": width,
        "check_path": check_path,
        "env_version": env_version,
    }
    if page:
        body["page"] = page
    return _binary(
        client.post("wxa/getwxacodeunlimit", api_base_url=client.api_base_url, data=body)
    )


def msg_sec_check(
    client: FengchaoWeChatClient, openid: str, content: str, scene: int = 2
) -> dict[str, Any]:
    """Text security check v2: {"suggest": pass|review|risky, "label", "trace_id", "detail"}."""
    result = client.post(
        "wxa/msg_sec_check",
        api_base_url=client.api_base_url,
        data={"version": 2, "openid": openid, "scene": scene, "content": content},
    )
    return {
        **result.get("result", {}),
        "trace_id": result.get("trace_id"),
        "detail": result.get("detail", []),
    }


def media_check_async(
    client: FengchaoWeChatClient, openid: str, media_url: str, scene: int = 2, media_type: int = 2
) -> str:
    """Start an asynchronous media check (v2); the verdict arrives as a wxa_media_check push."""
    result = client.post(
        "wxa/media_check_async",
        api_base_url=client.api_base_url,
        data={
            "media_url": media_url,
            "media_type": media_type,
            "version": 2,
            "scene": scene,
            "openid": openid,
        },
    )
    return result["trace_id"]


def download_media(client: FengchaoWeChatClient, media_id: str) -> bytes:
    """The bytes of a temporary media file (a user's image message; media ids live 3 days)."""
    return _binary(client.media.download(media_id))


def _binary(result: Any) -> bytes:
    if isinstance(result, dict):  # JSON without an errcode where bytes were expected
        raise WeChatError(None, "expected binary content, got JSON")
    return result.content

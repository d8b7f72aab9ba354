"""/wechat/callback: WeChat's message push (消息推送), plain or safe (AES) mode, XML or JSON.

- GET: the URL check (`signature` over token, timestamp, nonce) echoes `echostr`.
- POST: checks `signature` (plain) or `msg_signature` (safe mode, over the Encrypt field too;
  the appid inside must be ours), parses, drops repeats (raw MsgId; events by sender +
  CreateTime + event), calls the handlers in `server.WECHAT_EVENT_HANDLERS` for the message
  type (the event name for events; "message_default" for message types nobody handles) and
  answers "success" at once: handlers only store and queue, jobs do the slow work.
- Anything unsigned, wrongly signed or malformed is refused (403/400), logged, and has no
  effect. Not part of the JSON API nor its OpenAPI document.
- XML with a document type or entity declaration (`<!DOCTYPE`, `<!ENTITY`, any case,
  anywhere: WeChat never sends one) is refused before anything is parsed, the body as
  received and, in safe mode, the decrypted message too: 400 `wechat.xml_forbidden`.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import logging
import re
import time
from typing import Any

import xmltodict
from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, request
from flask_smorest import Blueprint
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from server.errors import DomainError
from server.extensions import get_redis, limiter
from server.ops.limits import rate_limit

log = logging.getLogger(__name__)

blp = Blueprint("wechat_callback", __name__, description="WeChat message push")
MAX_BODY = 64 * 1024
# A push older (or newer) than this is refused even with a fresh nonce: the signature covers
# the timestamp, so a captured request cannot be replayed later. Wall-clock time on purpose
# (WeChat's timestamp is wall-clock, not the app's domain clock).
REPLAY_WINDOW_S = 300
DEDUPE_TTL_S = 3 * 24 * 3600
DEDUPE_PREFIX = "fc:wechat:seen:"
# A signed (timestamp, nonce) is good for one push: in plain mode the signature covers the
# token, timestamp and nonce but not the body, so a query seen once (access logs record it)
# could otherwise carry any body until the timestamp goes stale. The query is bound to the
# body it first came with (WeChat's resend of the same request passes, and is then dropped
# by its MsgId); kept past the window.
NONCE_PREFIX = "fc:wechat:nonce:"
NONCE_TTL_S = 2 * REPLAY_WINDOW_S + 60
# A DTD or entity declaration anywhere (a BOM, whitespace or an XML declaration before it
# changes nothing): refused before any parser sees the text, not left to the parser's options.
FORBIDDEN_XML = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class XmlForbidden(DomainError):
    status = 400
    code = "wechat.xml_forbidden"
    message = "消息推送不接受含文档类型（DOCTYPE）或实体（ENTITY）声明的 XML"


def _refuse_declarations(text: str) -> None:
    if FORBIDDEN_XML.search(text):
        raise XmlForbidden()


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _signed(args) -> bool:
    """WeChat's signature of a push or URL check: the SHA-1 of the token, timestamp and
    nonce sorted and joined (what wechatpy's check_signature computes), compared in
    constant time (check_signature compares with !=)."""
    parts = sorted(
        [current_app.config["WECHAT_TOKEN"], args.get("timestamp", ""), args.get("nonce", "")]
    )
    expected = hashlib.sha1("".join(parts).encode()).hexdigest()  # noqa: S324 (WeChat's)
    return hmac.compare_digest(expected.encode(), args.get("signature", "").encode())


def _fresh(args) -> bool:
    try:
        sent = int(args.get("timestamp", ""))
    except ValueError:
        return False
    return abs(time.time() - sent) <= REPLAY_WINDOW_S


def verify():
    """WeChat's URL check: echo `echostr` when the signature is ours and fresh (WeChat asks
    when the URL is saved in its console; a signed query seen in a log must not make this
    domain echo any text for ever — the signature does not cover `echostr`)."""
    if not (_signed(request.args) and _fresh(request.args)):
        log.warning("wechat callback: GET with a bad signature from %s", request.remote_addr)
        return _text("forbidden", 403)
    return _text(request.args.get("echostr", ""))


def _parse(raw: str) -> dict[str, Any]:
    raw = raw.strip()
    if raw.startswith("<"):
        parsed = xmltodict.parse(raw, disable_entities=True)
        message = parsed.get("xml") if isinstance(parsed, dict) else None
    else:
        message = json.loads(raw)
    if not isinstance(message, dict):
        raise ValueError("not an object")
    return message


def _decrypt(raw: str, args) -> dict[str, Any]:
    aes_key = current_app.config["WECHAT_ENCODING_AES_KEY"]
    if not aes_key:  # the console is in safe mode (安全模式) and this server has no key
        log.error(
            "wechat callback: encrypted message but WECHAT_ENCODING_AES_KEY is not set "
            "(copy EncodingAESKey from the console, or switch it to plain-text mode)"
        )
        raise InvalidSignatureException()
    _refuse_declarations(raw)
    crypto = WeChatCrypto(
        current_app.config["WECHAT_TOKEN"], aes_key, current_app.config["WECHAT_APPID"]
    )
    envelope = _parse(raw)
    body: Any = envelope if not raw.lstrip().startswith("<") else raw
    if not isinstance(envelope.get("Encrypt"), str):
        raise ValueError("no Encrypt field")
    plain = crypto.decrypt_message(
        body, args.get("msg_signature", ""), args.get("timestamp", ""), args.get("nonce", "")
    )
    if isinstance(plain, bytes):
        plain = plain.decode("utf-8")
    _refuse_declarations(plain)
    return _parse(plain)


def _handlers(message: dict[str, Any]) -> list[str]:
    from server import WECHAT_EVENT_HANDLERS

    msg_type = str(message.get("MsgType", "")).lower()
    key = str(message.get("Event", "")) if msg_type == "event" else msg_type
    found = WECHAT_EVENT_HANDLERS.get(key, [])
    if not found and msg_type != "event":
        found = WECHAT_EVENT_HANDLERS.get("message_default", [])
    return found


def _call(dotted: str, message: dict[str, Any]) -> None:
    module_name, _, attr = dotted.rpartition(".")
    getattr(importlib.import_module(module_name), attr)(message)


def _client_address() -> str:
    """The pushing server's address (behind nginx: the forwarded one, see TRUSTED_PROXIES)."""
    return f"wechat:{request.remote_addr}"


# Per client address (RATE_LIMIT_CALLBACK, default 600/minute): far above what WeChat pushes
# at normal volume, retries included (at most 3 per message), but it bounds a flood.
_callback_limit = limiter.shared_limit(
    rate_limit("CALLBACK"), scope="wechat_callback", key_func=_client_address
)


@_callback_limit
def receive():
    """A pushed message or event: check, decode, drop repeats, hand over, answer at once."""
    from server.reports.wechat_channel import dedupe_key

    raw_bytes = request.get_data(cache=False)
    if len(raw_bytes) > MAX_BODY:
        return _text("too large", 413)
    args = request.args
    if not _fresh(args):
        log.warning("wechat callback refused (stale timestamp) from %s", request.remote_addr)
        return _text("forbidden", 403)
    safe = args.get("encrypt_type") == "aes"
    if not safe and current_app.config["WECHAT_ENCODING_AES_KEY"]:
        # Safe mode is configured: a plain push (its signature does not cover the body) is
        # refused, or anyone who saw one push's query could send any body with it.
        log.warning(
            "wechat callback refused: plain-text push while WECHAT_ENCODING_AES_KEY is set "
            "(the console must be in 安全模式 or 兼容模式; or unset the key) from %s",
            request.remote_addr,
        )
        return _text("forbidden", 403)
    try:
        raw = raw_bytes.decode("utf-8")
        if safe:
            message = _decrypt(raw, args)
        else:
            if not _signed(args):
                raise InvalidSignatureException()
            _refuse_declarations(raw)
            message = _parse(raw)
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        log.warning("wechat callback refused (%s) from %s", type(exc).__name__, request.remote_addr)
        return _text("forbidden", 403)
    except XmlForbidden:
        log.warning("wechat callback: DTD/entity declaration refused from %s", request.remote_addr)
        raise
    except Exception as exc:  # malformed XML/JSON/base64/padding: refuse, never 500
        log.warning("wechat callback: malformed body (%s)", type(exc).__name__)
        return _text("bad request", 400)
    if not _well_formed(message):
        log.warning("wechat callback: message without MsgType/FromUserName, or odd fields")
        return _text("bad request", 400)
    redis = get_redis()
    nonce_key = f"{NONCE_PREFIX}{args.get('timestamp', '')}:{args.get('nonce', '')}"
    body_hash = hashlib.sha256(raw_bytes).hexdigest()
    if (
        not redis.set(nonce_key, body_hash, nx=True, ex=NONCE_TTL_S)
        and redis.get(nonce_key) != body_hash
    ):
        log.warning(
            "wechat callback refused (signed query used again) from %s", request.remote_addr
        )
        return _text("forbidden", 403)
    seen_key = DEDUPE_PREFIX + dedupe_key(message)
    if not redis.set(seen_key, "1", nx=True, ex=DEDUPE_TTL_S):
        return _text("success")  # WeChat's retry of something we already have
    try:
        for dotted in _handlers(message):
            _call(dotted, message)
    except Exception:
        log.exception("wechat callback handler failed; WeChat will retry")
        redis.delete(seen_key)  # WeChat's retry is welcome (its query stays bound to this body)
        from server.extensions import db

        db.session.rollback()
        return _text("retry later", 503)
    return _text("success")


# Fields our handlers and the dedupe key read: scalars only (a JSON list or a nested XML
# element there is not a WeChat push; it was a 500).
_SCALAR_FIELDS = (
    "MsgType",
    "FromUserName",
    "ToUserName",
    "Event",
    "EventKey",
    "MsgId",
    "CreateTime",
    "Content",
    "trace_id",
)


def _well_formed(message: dict[str, Any]) -> bool:
    if not isinstance(message.get("MsgType"), str) or not message["MsgType"]:
        return False
    if not isinstance(message.get("FromUserName"), str) or not message["FromUserName"]:
        return False
    return all(
        message.get(field) is None or isinstance(message[field], str | int)
        for field in _SCALAR_FIELDS
    )


# Flask's own add_url_rule: this endpoint stays out of the client API's OpenAPI document.
FlaskBlueprint.add_url_rule(
    blp, "/wechat/callback", "verify", _callback_limit(verify), methods=["GET"]
)
FlaskBlueprint.add_url_rule(blp, "/wechat/callback", "receive", receive, methods=["POST"])

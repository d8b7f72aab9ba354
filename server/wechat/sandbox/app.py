"""The sandbox Flask app: WeChat's official endpoints, answered the way api.weixin.qq.com does.

Pipeline for every WeChat path: injected fault (if any) → access_token check (not for the
token endpoints or jscode2session) → the endpoint → the call is recorded with secrets redacted.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.wechat.sandbox import events
from server.wechat.sandbox.images import render_wxacode
from server.wechat.sandbox.state import SandboxState, new_rid, redact
from server.wechat.sandbox.validation import (
    ENV_VERSIONS,
    LANGS,
    LOGIN_CODE,
    PHONE_CODE,
    STATES,
    Refusal,
    check_scene,
    check_subscribe_data,
    check_subscribe_page,
    check_wxacode_page,
    classify_text,
)

DEFAULT_APPID = "wxsandbox0000000001"
DEFAULT_SECRET = "sandbox-secret"  # noqa: S105 - the sandbox's own, never WeChat's
NO_TOKEN_PATHS = frozenset({"/cgi-bin/token", "/cgi-bin/stable_token", "/sns/jscode2session"})
GET_PATHS = frozenset({"/cgi-bin/token", "/sns/jscode2session", "/cgi-bin/media/get"})


def state() -> SandboxState:
    return current_app.extensions["wechat_sandbox"]


def answer(errcode: int = 0, errmsg: str | None = None, **fields: Any) -> Response:
    """A WeChat JSON answer (always HTTP 200); errors carry a `rid:` like WeChat's."""
    if errcode == 0:
        payload: dict[str, Any] = {"errcode": 0, "errmsg": "ok", **fields}
    else:
        payload = {
            "errcode": errcode,
            "errmsg": f"{Refusal(errcode, errmsg).errmsg} rid: {new_rid()}",
        }
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")), mimetype="application/json"
    )


def plain(payload: dict[str, Any]) -> Response:
    """A success answer for endpoints that carry no errcode (token, jscode2session)."""
    return Response(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")), mimetype="application/json"
    )


def json_body(bad_format: int = 47001) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise Refusal(44002 if bad_format == 47001 else bad_format)
    try:
        data = json.loads(raw)
    except ValueError:
        raise Refusal(bad_format) from None
    if not isinstance(data, dict):
        raise Refusal(bad_format)
    return data


def check_app_credentials(appid: Any, secret: Any) -> None:
    if not appid:
        raise Refusal(41002)
    if appid != state().appid:
        raise Refusal(40013)
    if not secret:
        raise Refusal(41004)
    if secret != state().secret:
        raise Refusal(40125)


def known_openid(openid: Any) -> str:
    if not isinstance(openid, str) or not state().knows(openid):
        raise Refusal(40003)
    return openid


def _is_control() -> bool:
    return request.path == "/sandbox" or request.path.startswith("/sandbox/")


def _recorded_body() -> Any:
    if request.files or request.form:
        return {
            "form": redact(request.form.to_dict()),
            "files": {k: f.filename for k, f in request.files.items()},
        }
    raw = request.get_data(cache=True)
    if not raw:
        return None
    try:
        return redact(json.loads(raw))
    except ValueError:
        return {"raw": raw[:300].decode("utf-8", "replace")}


def _before() -> Response | None:
    if _is_control():
        return None
    fault = state().take_fault(request.path)
    g.sandbox_fault = fault.as_dict() if fault else None
    if fault:
        if fault.delay_seconds:
            time.sleep(fault.delay_seconds)
        if fault.http_status:
            return Response("<html><body>sandbox fault</body></html>", status=fault.http_status)
        if fault.errcode is not None:
            return answer(fault.errcode)
    if request.path in NO_TOKEN_PATHS or request.url_rule is None:
        return None
    token = request.args.get("access_token")
    if not token:
        return answer(41001)
    status = state().token_status(token)
    if status == "expired":
        return answer(42001)
    if status != "valid":
        return answer(40001)
    return None


def _after(response: Response) -> Response:
    if _is_control():
        return response
    errcode = errmsg = None
    if response.mimetype == "application/json":
        data = response.get_json(silent=True) or {}
        errcode, errmsg = data.get("errcode", 0), data.get("errmsg")
    elif response.status_code == 200:
        errcode = 0
    state().record_call(
        {
            "method": request.method,
            "path": request.path,
            "args": redact(request.args.to_dict()),
            "body": _recorded_body(),
            "status": response.status_code,
            "errcode": errcode,
            "errmsg": errmsg,
            "content_type": response.mimetype,
            "fault": g.get("sandbox_fault"),
        }
    )
    return response


def _on_http_error(exc: HTTPException) -> Response:
    if _is_control():
        return Response(
            json.dumps({"error": exc.name, "status": exc.code}),
            status=exc.code,
            mimetype="application/json",
        )
    if isinstance(exc, MethodNotAllowed):
        return answer(43001 if request.path in GET_PATHS else 43002)
    response = answer(40066)
    response.status_code = exc.code or 404
    return response


def create_sandbox_app(
    appid: str = DEFAULT_APPID,
    secret: str = DEFAULT_SECRET,
    *,
    templates: Mapping[str, Iterable[str]] | None = None,
    published_pages: Iterable[str] | None = None,
) -> Flask:
    """A Flask app that answers like api.weixin.qq.com for one mini-program.

    `templates` ({template_id: [data keys]}) makes subscribe sends check template ids and
    keys; `published_pages` makes getwxacodeunlimit with check_path refuse other pages.
    Without them any template id / page is accepted.
    """
    app = Flask(__name__)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["wechat_sandbox"] = SandboxState(appid, secret)
    app.config["SANDBOX_TEMPLATES"] = (
        {k: frozenset(v) for k, v in templates.items()} if templates is not None else None
    )
    app.config["SANDBOX_PUBLISHED_PAGES"] = (
        frozenset(published_pages) if published_pages is not None else None
    )
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(Refusal, lambda e: answer(e.errcode, e.errmsg))
    app.register_error_handler(HTTPException, _on_http_error)
    _register_wechat_routes(app)
    from server.wechat.sandbox.control import control

    app.register_blueprint(control, url_prefix="/sandbox")
    return app


def _register_wechat_routes(app: Flask) -> None:
    @app.get("/cgi-bin/token")
    def token():
        if request.args.get("grant_type") != "client_credential":
            raise Refusal(40002)
        check_app_credentials(request.args.get("appid"), request.args.get("secret"))
        issued = state().issue_basic_token()
        return plain(
            {"access_token": issued.value, "expires_in": round(issued.expires_at - time.time())}
        )

    @app.post("/cgi-bin/stable_token")
    def stable_token():
        body = json_body()
        if body.get("grant_type") != "client_credential":
            raise Refusal(40002)
        check_app_credentials(body.get("appid"), body.get("secret"))
        issued = state().issue_stable_token(bool(body.get("force_refresh")))
        return plain(
            {"access_token": issued.value, "expires_in": round(issued.expires_at - time.time())}
        )

    @app.get("/sns/jscode2session")
    def jscode2session():
        args = request.args
        check_app_credentials(args.get("appid"), args.get("secret"))
        if args.get("grant_type") != "authorization_code":
            raise Refusal(40002)
        code = args.get("js_code")
        if not code:
            raise Refusal(41008)
        match = LOGIN_CODE.match(code)
        if not match or not state().use_code(code):
            raise Refusal(40029)
        return plain(state().login(match.group(1)))

    @app.post("/wxa/business/getuserphonenumber")
    def getuserphonenumber():
        body = json_body()
        code = body.get("code")
        if not code:
            raise Refusal(41008)
        match = PHONE_CODE.match(code) if isinstance(code, str) else None
        if not match or not state().use_code(code):
            raise Refusal(40029)
        if body.get("openid") is not None:
            known_openid(body["openid"])
        number = match.group(1)
        watermark = {"timestamp": int(time.time()), "appid": state().appid}
        phone_info = {
            "phoneNumber": number,
            "purePhoneNumber": number,
            "countryCode": "86",
            "watermark": watermark,
        }
        return answer(phone_info=phone_info)

    @app.post("/cgi-bin/message/subscribe/send")
    def subscribe_send():
        body = json_body()
        openid = known_openid(body.get("touser"))
        template_id = body.get("template_id")
        templates = current_app.config["SANDBOX_TEMPLATES"]
        if not template_id or not isinstance(template_id, str):
            raise Refusal(40037)
        if templates is not None and template_id not in templates:
            raise Refusal(40037)
        check_subscribe_page(body.get("page"))
        if body.get("miniprogram_state", "formal") not in STATES:
            raise Refusal(40097, "invalid args: miniprogram_state")
        if body.get("lang", "zh_CN") not in LANGS:
            raise Refusal(40097, "invalid args: lang")
        check_subscribe_data(body.get("data"), templates[template_id] if templates else None)
        if not state().spend(openid, template_id):
            raise Refusal(43101)
        state().record_message("subscribe", body)
        return answer(msgid=state().next_msgid())

    @app.post("/cgi-bin/message/custom/send")
    def custom_send():
        body = json_body()
        known_openid(body.get("touser"))
        kind = body.get("msgtype")
        part = body.get(kind) if isinstance(kind, str) else None
        if kind not in {"text", "image", "link", "miniprogrampage"}:
            raise Refusal(40008)
        if not isinstance(part, dict):
            raise Refusal(47001)
        if kind == "text" and not (isinstance(part.get("content"), str) and part["content"]):
            raise Refusal(44004)
        if kind == "image" and state().get_media(str(part.get("media_id"))) is None:
            raise Refusal(40007)
        if kind == "link" and not all(
            isinstance(part.get(k), str) for k in ("title", "description", "url", "thumb_url")
        ):
            raise Refusal(47001)
        if kind == "miniprogrampage":
            if not isinstance(part.get("title"), str) or not part.get("pagepath"):
                raise Refusal(47001)
            check_subscribe_page(part["pagepath"])
            if state().get_media(str(part.get("thumb_media_id"))) is None:
                raise Refusal(40007)
        state().record_message("custom", body)
        return answer()

    @app.post("/cgi-bin/media/upload")
    def media_upload():
        if request.args.get("type") != "image":
            raise Refusal(40004)
        upload = request.files.get("media")
        if upload is None:
            raise Refusal(41005)
        media_id, created_at = state().add_media(upload.read(), upload.mimetype or "image/jpeg")
        return plain({"type": "image", "media_id": media_id, "created_at": created_at})

    @app.get("/cgi-bin/media/get")
    def media_get():
        media_id = request.args.get("media_id", "")
        item = state().get_media(media_id)
        if item is None:
            raise Refusal(40007)
        response = Response(item.data, mimetype=item.content_type)
        response.headers["Content-disposition"] = f'attachment; filename="{media_id}.jpg"'
        return response

    @app.post("/wxa/getwxacodeunlimit")
    def getwxacodeunlimit():
        body = json_body(bad_format=40169)
        scene = check_scene(body.get("scene"))
        page = body.get("page")
        check_wxacode_page(page)
        published = current_app.config["SANDBOX_PUBLISHED_PAGES"]
        checked = page and body.get("check_path", True) and published is not None
        if checked and page not in published:
            raise Refusal(41030)
        env_version = body.get("env_version", "release")
        if env_version not in ENV_VERSIONS:
            raise Refusal(40097, "invalid args: env_version")
        width = body.get("width", 430)
        if isinstance(width, bool) or not isinstance(width, int | str):
            raise Refusal(40097, "invalid args: width")
        try:
            width = int(width)
        except ValueError:
            raise Refusal(40097, "invalid args: width") from None
        return Response(render_wxacode(scene, page, width, env_version), mimetype="image/jpeg")

    @app.post("/wxa/msg_sec_check")
    def msg_sec_check():
        body = json_body()
        content = body.get("content")
        if body.get("version") != 2:  # v1: frozen since 2021, 87014 means risky
            if not isinstance(content, str) or not content:
                raise Refusal(44002)
            if classify_text(content)[0] == "risky":
                raise Refusal(87014)
            return answer()
        known_openid(body.get("openid"))
        if body.get("scene") not in (1, 2, 3, 4):
            raise Refusal(40129)
        if not isinstance(content, str) or not content:
            raise Refusal(44002)
        if len(content) > 2500:
            raise Refusal(47001)
        suggest, label, keyword = classify_text(content)
        detail: list[dict[str, Any]] = [
            {
                "strategy": "content_model",
                "errcode": 0,
                "suggest": suggest,
                "label": label,
                "prob": 90 if suggest != "pass" else 0,
            },
        ]
        if keyword:
            detail.append(
                {
                    "strategy": "keyword",
                    "errcode": 0,
                    "suggest": suggest,
                    "label": label,
                    "level": 90,
                    "keyword": keyword,
                }
            )
        return answer(
            detail=detail,
            result={"suggest": suggest, "label": label},
            trace_id=secrets.token_hex(12),
        )

    @app.post("/wxa/media_check_async")
    def media_check_async():
        body = json_body()
        url = body.get("media_url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise Refusal(47001)
        if body.get("media_type") not in (1, 2):
            raise Refusal(47001)
        openid = None
        if body.get("version") == 2:
            openid = known_openid(body.get("openid"))
            if body.get("scene") not in (1, 2, 3, 4):
                raise Refusal(40129)
        trace_id = secrets.token_hex(12)
        state().add_media_check(events.media_check(state().appid, trace_id, openid, body))
        return answer(trace_id=trace_id)

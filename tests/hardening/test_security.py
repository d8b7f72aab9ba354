"""The security pass: headers, no CORS, request size limits, uploads, the WeChat callback.

(Tokens — tampered, expired, revoked, wrong algorithm, another environment's secret — are in
tests/auth/test_tokens.py.)
"""

from __future__ import annotations

import io
import re
import time
import uuid
import zlib

import pytest
from PIL import Image

from tests.factories import jpeg_bytes
from tests.hardening.helpers import openapi, operations
from tests.wechat.test_callback import AES_KEY, TOKEN, URL, _sign, _xml, post_aes, post_plain, text

ENVELOPE = {"code", "message", "status", "details"}

# --- headers and CORS ----------------------------------------------------------------------


def _assert_base_headers(response):
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_docs_page_has_security_headers_and_only_local_assets(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    _assert_base_headers(response)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert "http" not in csp  # no third-party origin is allowed
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        with client.get(asset) as fetched:
            assert fetched.status_code == 200, asset
            _assert_base_headers(fetched)


@pytest.mark.parametrize(
    "path", ["/api/v1/org-units", "/api/v1/openapi.json", "/api/v1/nope", "/healthz"]
)
def test_every_response_carries_the_headers(client, path):
    _assert_base_headers(client.get(path))


def test_no_cors_ever_including_preflight(client, login):
    auth = login("rider")
    origin = {"Origin": "https://evil.example"}
    spec = openapi(client)
    for method, path, _op in operations(spec):
        url = re.sub(r"\{[^}]+\}", "1", path)
        preflight = client.options(
            url,
            headers={
                **origin,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type",
            },
        )
        actual = client.open(url, method=method, headers={**origin, **auth}, json={})
        for response in (preflight, actual):
            leaked = [
                h for h, _ in response.headers.items() if h.lower().startswith("access-control")
            ]
            assert not leaked, (method, path, leaked)


# --- request size limits everywhere --------------------------------------------------------


def test_every_body_taking_operation_refuses_an_oversized_body(app, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 32 * 1024)
    admin, rider = login("admin", "D"), login("rider")
    spec = openapi(client)
    big = b'{"x": "' + b"a" * (40 * 1024) + b'"}'
    checked = 0
    for method, path, op in operations(spec):
        if "requestBody" not in op:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        for auth in (admin, rider):
            response = client.open(
                url,
                method=method,
                data=big,
                headers={**auth, "Content-Type": "application/json"},
            )
            if response.status_code != 403:
                break
        assert response.status_code == 413, (method, path, response.status_code)
        assert set(response.get_json()) == ENVELOPE
        assert response.get_json()["code"] == "request_too_large"
        checked += 1
    assert checked >= 20


def test_callback_body_limit(client):
    body = _xml(text("o_x", "a" * (70 * 1024))).encode()
    response = client.post(URL, query_string=_query(), data=body)
    assert response.status_code == 413


# --- the WeChat callback: XML entities, replay window, JSON/XML confusion --------------------


def _query(ts: int | None = None) -> dict:
    ts_s, nonce = str(int(time.time()) if ts is None else ts), uuid.uuid4().hex[:10]
    return {"timestamp": ts_s, "nonce": nonce, "signature": _sign(TOKEN, ts_s, nonce)}


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "ha">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + "]><xml><ToUserName>gh</ToUserName><FromUserName>o_bomb</FromUserName>"
    "<MsgType>text</MsgType><Content>&j;</Content><MsgId>1</MsgId></xml>"
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<xml><ToUserName>gh</ToUserName><FromUserName>o_xxe</FromUserName>"
    "<MsgType>text</MsgType><Content>&x;</Content><MsgId>2</MsgId></xml>"
)


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["expansion", "external"])
def test_callback_refuses_dtds_and_entities(client, db, body):
    from server.reports.models import WeChatInbound

    started = time.monotonic()
    response = post_plain(client, body)
    assert response.status_code == 400
    assert time.monotonic() - started < 2
    assert "root:" not in response.get_data(as_text=True)
    assert db.session.query(WeChatInbound).count() == 0


_PLAIN_XML = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>o_dtd</FromUserName>"
    "<MsgType>text</MsgType><Content>hi</Content><MsgId>3</MsgId></xml>"
)


@pytest.fixture
def parser_calls(monkeypatch):
    """Every text handed to an XML parser (ours or wechatpy's, both use xmltodict)."""
    import xmltodict

    calls: list[str] = []
    original = xmltodict.parse

    def recording(xml_input, *args, **kwargs):
        calls.append(xml_input if isinstance(xml_input, str) else repr(xml_input))
        return original(xml_input, *args, **kwargs)

    monkeypatch.setattr(xmltodict, "parse", recording)
    return calls


def _assert_xml_forbidden(response, db, redis):
    from server.reports.models import WeChatInbound

    assert response.status_code == 400
    body = response.get_json()
    assert set(body) == ENVELOPE and body["code"] == "wechat.xml_forbidden"
    assert "DOCTYPE" in body["message"]
    assert db.session.query(WeChatInbound).count() == 0
    assert not redis.keys("fc:wechat:seen:*")


@pytest.mark.parametrize(
    "body",
    [
        BILLION_LAUGHS,
        EXTERNAL_ENTITY,
        "<!doctype xml>" + _PLAIN_XML,
        "\ufeff \r\n\t<!DocType xml SYSTEM 'http://x/y.dtd'>" + _PLAIN_XML,
        '<?xml version="1.0"?>\n<!entity x "y">' + _PLAIN_XML,
        _PLAIN_XML.replace("hi", "<!DOCTYPE"),  # nowhere, not even in a text node
    ],
    ids=["expansion", "external", "lowercase", "bom-whitespace", "entity-only", "in-content"],
)
def test_callback_refuses_dtds_explicitly_before_any_parsing(client, db, redis, parser_calls, body):
    _assert_xml_forbidden(post_plain(client, body), db, redis)
    assert parser_calls == []


@pytest.fixture
def aes_appid(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_ENCODING_AES_KEY", AES_KEY)
    return app.config["WECHAT_APPID"]


def test_safe_mode_envelope_with_a_dtd_is_refused_unparsed(
    client, db, redis, parser_calls, aes_appid
):
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    query = {
        "timestamp": ts,
        "nonce": nonce,
        "signature": _sign(TOKEN, ts, nonce),
        "encrypt_type": "aes",
        "msg_signature": "0" * 40,
    }
    body = '<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>'
    _assert_xml_forbidden(client.post(URL, query_string=query, data=body.encode()), db, redis)
    assert parser_calls == []


@pytest.mark.parametrize("as_json", [False, True], ids=["xml-envelope", "json-envelope"])
def test_safe_mode_decrypted_dtd_is_refused_unparsed(
    client, db, redis, parser_calls, aes_appid, as_json
):
    sent = post_aes(client, EXTERNAL_ENTITY, aes_appid, as_json=as_json)
    _assert_xml_forbidden(sent, db, redis)
    assert not any("ENTITY" in text.upper() for text in parser_calls), parser_calls
    # the same path without a declaration is parsed and accepted (the check is not the key)
    assert post_aes(client, _PLAIN_XML, aes_appid, as_json=as_json).status_code == 200


@pytest.fixture
def wx_user(sandbox):
    openid = f"o_wx_{uuid.uuid4().hex[:8]}"
    sandbox.add_user(openid)
    return openid


def test_callback_replay_with_new_nonce_but_old_timestamp_is_refused(client, db, wx_user):
    from server.reports.models import WeChatInbound

    message = _xml(text(wx_user, "路灯不亮"))
    stale = client.post(URL, query_string=_query(int(time.time()) - 301), data=message.encode())
    assert stale.status_code == 403
    future = client.post(URL, query_string=_query(int(time.time()) + 301), data=message.encode())
    assert future.status_code == 403
    assert db.session.query(WeChatInbound).count() == 0
    fresh = client.post(URL, query_string=_query(int(time.time()) - 60), data=message.encode())
    assert fresh.status_code == 200


def test_callback_json_xml_confusion(client, db):
    from server.reports.models import WeChatInbound

    # XML smuggled in a JSON string is just a string; a JSON array is not a message
    for body in ('{"xml": "<xml><MsgType>text</MsgType></xml>"}', "[1, 2]", "<xml>", "{"):
        response = client.post(URL, query_string=_query(), data=body.encode())
        assert response.status_code == 400, body
    assert db.session.query(WeChatInbound).count() == 0


# --- uploads ---------------------------------------------------------------------------------


def _upload(client, auth, data: bytes, name: str):
    return client.post(
        "/api/v1/uploads",
        data={"file": (io.BytesIO(data), name)},
        headers=auth,
        content_type="multipart/form-data",
    )


def _png(width: int, height: int) -> bytes:
    """A valid PNG header claiming huge dimensions, with a tiny (bomb-like) body."""
    import struct

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "name",
    ["../../../etc/passwd.jpg", "..\\..\\windows\\x.jpg", "/abs/path.jpg", "a\0b.jpg", "照片.jpg"],
)
def test_upload_file_names_never_reach_the_filesystem(app, client, login, name):
    from pathlib import Path

    response = _upload(client, login("rider"), jpeg_bytes(), name)
    assert response.status_code in (201, 400, 422), response.get_json()  # 400: NUL refused
    if response.status_code == 201:
        body = response.get_json()
        assert ".." not in body["url"] and "passwd" not in body["url"]
        root = Path(app.config["UPLOAD_DIR"]).resolve()
        for path in root.rglob("*"):
            assert path.resolve().is_relative_to(root)
            assert "passwd" not in path.name and "windows" not in path.name


def test_polyglot_jpeg_is_re_encoded_without_the_payload(client, login):
    payload = b"<html><script>alert(1)</script></html>PK\x03\x04zipzip"
    response = _upload(client, login("rider"), jpeg_bytes() + payload, "photo.jpg")
    assert response.status_code == 201
    with client.get(response.get_json()["url"]) as served:
        data = served.get_data()
        assert b"<script>" not in data and b"PK\x03\x04" not in data
        assert served.mimetype == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "a.png"),
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "a.jpg"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg"),
    ],
    ids=["svg-as-png", "html-as-jpg", "svg"],
)
def test_svg_and_html_disguised_as_images_are_refused(client, login, data, name):
    response = _upload(client, login("rider"), data, name)
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()) == ENVELOPE


@pytest.mark.parametrize(("width", "height"), [(60000, 60000), (100000, 1), (20000, 20000)])
def test_decompression_bombs_and_oversized_dimensions_are_refused(client, login, width, height):
    started = time.monotonic()
    response = _upload(client, login("rider"), _png(width, height), "bomb.png")
    assert response.status_code == 422, response.get_json()
    assert set(response.get_json()) == ENVELOPE
    assert time.monotonic() - started < 3


def test_a_real_image_larger_than_the_pixel_limit_is_refused(client, login):
    buffer = io.BytesIO()
    Image.new("L", (8000, 8000)).save(buffer, "PNG")  # 64 Mpx of zeros: ~60 KB compressed
    response = _upload(client, login("rider"), buffer.getvalue(), "big.png")
    assert response.status_code == 422


# --- NUL bytes (a PostgreSQL 500 the fuzzer found) -------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("GET", "/api/v1/admin/checkins", {"query_string": {"reason": "a\x00b", "format": "csv"}}),
        ("GET", "/api/v1/admin/redemptions/AB%00CD", {}),
        ("POST", "/api/v1/needs", {"json": {"kind": "childcare", "content": "托管\x00班"}}),
        ("PATCH", "/api/v1/me", {"json": {"display_name": "小\x00王"}}),
        ("GET", "/api/v1/admin/checkins", {"query_string": {"reason\x00": "ok"}}),
        ("GET", "/api/v1/admin/checkins?reason=a%00b", {}),
        ("PATCH", "/api/v1/me", {"json": {"display_name\x00": "小王"}}),
        ("POST", "/api/v1/needs", {"json": {"kind": "childcare", "photos": ["a", "b\x00"]}}),
        ("PATCH", "/api/v1/me", {"data": {"display_name": "小\x00王"}}),
    ],
)
def test_nul_bytes_are_refused_before_they_reach_the_database(client, login, method, url, kwargs):
    auth = login("community_admin", "A") if "admin" in url else login("rider")
    response = client.open(url, method=method, headers=auth, **kwargs)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["code"] == "invalid_characters"


# --- lone UTF-16 surrogates (valid JSON, "\ud800"; no database can store one: a 500) -------


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/api/v1/checkins",
            '{"scene": "s1.\\ud800abcdefgh", "lat": 34.7, "lng": 113.6, "accuracy": 10}',
        ),
        ("/api/v1/me", '{"display_name": "a\\udfffb"}'),
        ("/api/v1/me", '{"display_name\\uDBFF": "a"}'),
        ("/api/v1/needs", '{"kind": "childcare", "content": "托管", "photos": ["\\udc00"]}'),
    ],
)
def test_lone_surrogates_are_refused_before_they_reach_the_database(app, client, login, url, body):
    """Refused at the door like NUL, whatever the field: a check-in's refusal row, a name."""
    method = "PATCH" if url.endswith("/me") else "POST"
    app.config["PROPAGATE_EXCEPTIONS"] = False  # what a client gets, not the test's raise
    try:
        response = client.open(
            url, method=method, data=body, content_type="application/json", headers=login("rider")
        )
    finally:
        app.config.pop("PROPAGATE_EXCEPTIONS", None)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["code"] == "invalid_characters"
    assert "不成对的 Unicode 代理字符" in response.get_json()["message"]


def test_an_escaped_emoji_pair_is_text_like_any_other(client, login):
    auth = login("rider")
    response = client.patch(
        "/api/v1/me",
        data='{"display_name": "王\\ud83d\\ude00"}',
        content_type="application/json",
        headers=auth,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["display_name"] == "王\U0001f600"

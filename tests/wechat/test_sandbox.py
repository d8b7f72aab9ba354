"""The sandbox on its own, over HTTP: WeChat's shapes and error codes, control endpoints."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests
from wechatpy import parse_message

from server.wechat.sandbox import DEFAULT_APPID, DEFAULT_SECRET, SandboxControl, SandboxServer
from server.wechat.sandbox.state import unionid_for
from server.wechat.sandbox.validation import Refusal, check_subscribe_data


@pytest.fixture
def http(wx_sandbox: SandboxServer) -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def url(wx_sandbox: SandboxServer, wx_control: SandboxControl) -> str:
    return wx_sandbox.url


def get_token(http: requests.Session, url: str) -> str:
    params = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    return http.get(url + "cgi-bin/token", params=params).json()["access_token"]


def login(http: requests.Session, url: str, openid: str, nonce: str = "n1") -> dict:
    params = {
        "appid": DEFAULT_APPID,
        "secret": DEFAULT_SECRET,
        "js_code": f"sandbox:{openid}:{nonce}",
        "grant_type": "authorization_code",
    }
    return http.get(url + "sns/jscode2session", params=params).json()


def post(http: requests.Session, url: str, path: str, token: str, body) -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return http.post(url + path, params={"access_token": token}, data=data).json()


def test_token_shapes_and_credential_errors(http, url):
    params = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    ok = http.get(url + "cgi-bin/token", params=params).json()
    assert set(ok) == {"access_token", "expires_in"} and ok["expires_in"] == 7200
    wrong_appid = http.get(url + "cgi-bin/token", params={**params, "appid": "wxother"}).json()
    assert wrong_appid["errcode"] == 40013
    wrong_secret = http.get(url + "cgi-bin/token", params={**params, "secret": "nope"}).json()
    assert wrong_secret["errcode"] == 40125
    assert "rid:" in wrong_secret["errmsg"]


def test_stable_token_is_idempotent_until_forced(http, url):
    body = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    first = http.post(url + "cgi-bin/stable_token", json=body).json()
    again = http.post(url + "cgi-bin/stable_token", json=body).json()
    assert first["access_token"] == again["access_token"]
    forced = http.post(url + "cgi-bin/stable_token", json={**body, "force_refresh": True}).json()
    assert forced["access_token"] != first["access_token"]
    login(http, url, "o_a")
    old = post(http, url, "cgi-bin/message/custom/send", first["access_token"], {})
    assert old["errcode"] == 40001
    garbage = http.post(url + "cgi-bin/stable_token", data=b"not json").json()
    assert garbage["errcode"] == 47001


def test_login_shape_and_one_time_codes(http, url):
    session = login(http, url, "o_rider1", nonce="3f2a")
    assert session["openid"] == "o_rider1"
    assert len(base64.b64decode(session["session_key"])) == 16
    assert session["unionid"] == unionid_for("o_rider1")
    assert login(http, url, "o_rider1", nonce="3f2a")["errcode"] == 40029  # reused
    bad = {"appid": DEFAULT_APPID, "secret": DEFAULT_SECRET, "grant_type": "authorization_code"}
    for code in ("abc", "sandbox:", "sandbox:a:b:c"):
        answer = http.get(url + "sns/jscode2session", params={**bad, "js_code": code}).json()
        assert answer["errcode"] == 40029
    with_token = {**bad, "js_code": "sandbox:o_x", "access_token": "whatever"}
    assert http.get(url + "sns/jscode2session", params=with_token).json()["openid"] == "o_x"


def test_access_token_checks(http, url, wx_control):
    login(http, url, "o_a")
    body = {"touser": "o_a", "msgtype": "text", "text": {"content": "hi"}}
    missing = http.post(url + "cgi-bin/message/custom/send", json=body).json()
    assert missing["errcode"] == 41001
    assert post(http, url, "cgi-bin/message/custom/send", "made-up", body)["errcode"] == 40001
    token = get_token(http, url)
    assert post(http, url, "cgi-bin/message/custom/send", token, body)["errcode"] == 0
    wx_control.expire_tokens()
    assert post(http, url, "cgi-bin/message/custom/send", token, body)["errcode"] == 42001
    token = get_token(http, url)
    wx_control.invalidate_tokens()
    assert post(http, url, "cgi-bin/message/custom/send", token, body)["errcode"] == 40001


def test_garbage_bodies_and_wrong_methods(http, url):
    token = get_token(http, url)
    assert post(http, url, "wxa/msg_sec_check", token, b"{oops")["errcode"] == 47001
    assert post(http, url, "wxa/getwxacodeunlimit", token, b"{oops")["errcode"] == 40169
    wrong_method = http.get(url + "cgi-bin/message/subscribe/send", params={"access_token": token})
    assert wrong_method.json()["errcode"] == 43002
    assert http.get(url + "cgi-bin/nothing-here").status_code == 404


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("thing1", "一" * 21),
        ("thing1", ""),
        ("phrase2", "OK"),
        ("phrase2", "已经完成了哦"),
        ("character_string3", "单号123"),
        ("character_string3", "A" * 33),
        ("number4", "12a"),
        ("letter5", "abc1"),
        ("time6", "25:01"),
        ("date7", "明天"),
        ("amount8", "十元"),
        ("phone_number9", "1" * 18),
        ("name10", "张" * 11),
        ("car_number11", "粤B123456789"),
        ("unknown12", "x"),
    ],
)
def test_subscribe_value_rules_refuse(key, value):
    with pytest.raises(Refusal) as refused:
        check_subscribe_data({key: {"value": value}})
    assert refused.value.errcode == 47003
    assert f"data.{key}.value invalid" in refused.value.errmsg


def test_subscribe_value_rules_accept():
    check_subscribe_data(
        {
            "thing1": {"value": "幸福里驿站：饮水、充电、歇脚"},
            "phrase2": {"value": "已受理"},
            "character_string3": {"value": "WO-2024-0001"},
            "number4": {"value": "12.5"},
            "time5": {"value": "2024年10月1日 15:01"},
            "time6": {"value": "15:01~17:30"},
            "date7": {"value": "2024-10-01"},
            "amount8": {"value": "¥12.50元"},
            "phone_number9": {"value": "+86 138-0000-0000"},
            "name10": {"value": "张三"},
            "car_number11": {"value": "粤B12345"},
            "symbol12": {"value": "★"},
        }
    )


def test_subscribe_send_errors(http, url, wx_control):
    token = get_token(http, url)
    login(http, url, "o_a")
    base = {"touser": "o_a", "template_id": "T1", "data": {"thing1": {"value": "ok"}}}
    send = "cgi-bin/message/subscribe/send"
    assert post(http, url, send, token, {**base, "touser": "o_nobody"})["errcode"] == 40003
    assert post(http, url, send, token, {**base, "template_id": ""})["errcode"] == 40037
    assert post(http, url, send, token, {**base, "page": "https://x.cn/a"})["errcode"] == 41030
    assert post(http, url, send, token, base)["errcode"] == 43101
    wx_control.grant_subscription("o_a", "T1", count=1)
    sent = post(http, url, send, token, {**base, "page": "pages/a?id=1"})
    assert sent["errcode"] == 0 and isinstance(sent["msgid"], int)
    assert post(http, url, send, token, base)["errcode"] == 43101  # the credit was one-time
    assert wx_control.subscriptions("o_a") == [{"openid": "o_a", "template_id": "T1", "count": 0}]


def test_templates_and_published_pages_when_configured():
    templates = {"T1": ["thing1", "time2"]}
    with SandboxServer(templates=templates, published_pages=["pages/home/index"]) as sandbox:
        state = sandbox.state
        state.add_user("o_a")
        state.grant("o_a", "T1", 5)
        with requests.Session() as http:
            token = get_token(http, sandbox.url)
            send = "cgi-bin/message/subscribe/send"
            body = {"touser": "o_a", "template_id": "T2", "data": {"thing1": {"value": "x"}}}
            assert post(http, sandbox.url, send, token, body)["errcode"] == 40037
            body["template_id"] = "T1"
            missing = post(http, sandbox.url, send, token, body)
            assert missing["errcode"] == 47003 and "data.time2.value" in missing["errmsg"]
            code = {"scene": "s1", "page": "pages/other/index", "check_path": True}
            answer = post(http, sandbox.url, "wxa/getwxacodeunlimit", token, code)
            assert answer["errcode"] == 41030


def test_content_checks_and_media_check_event(http, url, wx_control):
    token = get_token(http, url)
    login(http, url, "o_a")
    check = {"version": 2, "openid": "o_a", "scene": 9, "content": "hi"}
    assert post(http, url, "wxa/msg_sec_check", token, check)["errcode"] == 40129
    check = {**check, "scene": 2, "content": ""}
    assert post(http, url, "wxa/msg_sec_check", token, check)["errcode"] == 44002
    v1 = post(http, url, "wxa/msg_sec_check", token, {"content": "组织赌博"})
    assert v1["errcode"] == 87014
    media = {
        "media_url": "https://cdn.example/risky.jpg",
        "media_type": 2,
        "version": 2,
        "scene": 2,
        "openid": "o_a",
    }
    started = post(http, url, "wxa/media_check_async", token, media)
    assert started["errcode"] == 0 and started["trace_id"]
    [pending] = wx_control.media_checks()
    assert pending["trace_id"] == started["trace_id"]
    assert pending["event"]["result"] == {"suggest": "risky", "label": 20002}
    event = parse_message(pending["event_xml"])
    assert event.event == "wxa_media_check"
    assert event._data["trace_id"] == started["trace_id"]
    assert event._data["result"]["suggest"] == "risky"


def test_faults_apply_n_times_then_stop(http, url, wx_control):
    wx_control.fault("/cgi-bin/token", http_status=503, times=2)
    params = {"grant_type": "client_credential", "appid": DEFAULT_APPID, "secret": DEFAULT_SECRET}
    statuses = [http.get(url + "cgi-bin/token", params=params).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    wx_control.fault("cgi-bin/token", errcode=-1)
    assert http.get(url + "cgi-bin/token", params=params).json()["errcode"] == -1
    wx_control.fault("/cgi-bin/token", errcode=-1, times=5)
    wx_control.clear_faults()
    assert "access_token" in http.get(url + "cgi-bin/token", params=params).json()


def test_calls_are_recorded_redacted_and_shown(http, url, wx_control):
    token = get_token(http, url)
    login(http, url, "o_a")
    post(
        http,
        url,
        "cgi-bin/message/custom/send",
        token,
        {"touser": "o_a", "msgtype": "text", "text": {"content": "您好"}},
    )
    calls = wx_control.calls()
    assert [c["path"] for c in calls] == [
        "/cgi-bin/token",
        "/sns/jscode2session",
        "/cgi-bin/message/custom/send",
    ]
    assert calls[2]["args"] == {"access_token": "***"}
    assert calls[2]["body"]["text"] == {"content": "您好"}
    assert calls[2]["errcode"] == 0
    dumped = json.dumps(calls)
    assert token not in dumped and DEFAULT_SECRET not in dumped
    assert [c["path"] for c in wx_control.calls(path="/sns/jscode2session")] == [
        "/sns/jscode2session"
    ]
    page = http.get(url + "sandbox/")
    assert page.status_code == 200 and "/sns/jscode2session" in page.text
    assert token not in page.text and DEFAULT_SECRET not in page.text
    wx_control.clear_calls()
    assert wx_control.calls() == []

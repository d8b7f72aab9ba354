"""/wechat/callback, playing WeChat's side with wechatpy's own WeChatCrypto."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest
from wechatpy.crypto import WeChatCrypto

from server.reports.models import Report, WeChatInbound
from server.reports.wechat_channel import process_inbox
from server.uploads.models import Upload
from tests.factories import jpeg_bytes

TOKEN = "sandbox-token"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
URL = "/wechat/callback"


def _sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324 - WeChat's


def _query(token=TOKEN, **extra) -> dict:
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    return {"timestamp": ts, "nonce": nonce, "signature": _sign(token, ts, nonce), **extra}


def _xml(message: dict) -> str:
    from server.wechat.sandbox.events import to_xml

    return to_xml(message)


def post_plain(client, message, as_json: bool = False, token: str = TOKEN):
    """POST a message in plain mode (message: dict, or XML text)."""
    if isinstance(message, dict):
        body = json.dumps(message) if as_json else _xml(message)
    else:
        body = message
    return client.post(URL, query_string=_query(token), data=body.encode())


def post_aes(client, message, appid: str, as_json: bool = False, key: str = AES_KEY):
    """POST a message in safe mode (message: dict, or the plain text to encrypt)."""
    crypto = WeChatCrypto(TOKEN, key, appid)
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    if isinstance(message, str):
        inner = message
    else:
        inner = json.dumps(message) if as_json else _xml(message)
    envelope = crypto.encrypt_message(inner, nonce, ts)
    import xmltodict

    parsed = xmltodict.parse(envelope)["xml"]
    encrypt, msg_signature = parsed["Encrypt"], parsed["MsgSignature"]
    if as_json:
        body = json.dumps({"ToUserName": "gh_test", "Encrypt": encrypt})
    else:
        body = (
            "<xml><ToUserName><![CDATA[gh_test]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        )
    query = {
        "timestamp": ts,
        "nonce": nonce,
        "signature": _sign(TOKEN, ts, nonce),
        "encrypt_type": "aes",
        "msg_signature": msg_signature,
    }
    return client.post(URL, query_string=query, data=body.encode())


def text(openid: str, content: str, msg_id: str | None = None) -> dict:
    return {
        "ToUserName": "gh_test",
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id or str(uuid.uuid4().int)[:18],
    }


@pytest.fixture
def aes(app, monkeypatch):
    monkeypatch.setitem(app.config, "WECHAT_ENCODING_AES_KEY", AES_KEY)
    return app.config["WECHAT_APPID"]


@pytest.fixture
def wx_user(sandbox):
    openid = f"o_wx_{uuid.uuid4().hex[:8]}"
    sandbox.add_user(openid)
    return openid


def test_get_verification(client):
    ok = client.get(URL, query_string={**_query(), "echostr": "4375120948345356249"})
    assert ok.status_code == 200 and ok.get_data(as_text=True) == "4375120948345356249"
    bad = client.get(URL, query_string={**_query(token="wrong"), "echostr": "1"})
    assert bad.status_code == 403


def test_plain_text_becomes_a_draft_report_with_a_reply(client, wx_user, sandbox, db):
    response = post_plain(client, text(wx_user, "小区门口垃圾堆了三天"))
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    assert db.session.query(Report).count() == 0  # answered first, the job does the work
    assert process_inbox() == 1
    draft = db.session.query(Report).one()
    assert draft.status == "draft" and draft.channel == "wechat"
    assert draft.description == "小区门口垃圾堆了三天"
    sent = sandbox.messages()
    kinds = [m["body"]["msgtype"] for m in sent if m["body"]["touser"] == wx_user]
    assert kinds == ["text", "miniprogrampage"]
    assert draft.report_no in sent[0]["body"]["text"]["content"]
    card = next(m for m in sent if m["body"]["msgtype"] == "miniprogrampage")["body"]
    assert card["miniprogrampage"]["pagepath"] == f"packages/reports/detail/index?id={draft.id}"


def test_aes_xml_and_aes_json(client, aes, wx_user, db):
    assert post_aes(client, text(wx_user, "路灯坏了"), aes).status_code == 200
    assert post_aes(client, text(wx_user, "在3号楼旁"), aes, as_json=True).status_code == 200
    assert process_inbox() == 2
    draft = db.session.query(Report).one()  # both within the window: one draft
    assert draft.description == "路灯坏了\n在3号楼旁"


def test_text_image_location_in_any_order_make_one_draft(client, wx_user, sandbox, db, units):
    media_id = sandbox.upload_media(jpeg_bytes())
    base = {"ToUserName": "gh_test", "FromUserName": wx_user, "CreateTime": int(time.time())}
    location = {
        **base,
        "MsgType": "location",
        "Location_X": "34.730",
        "Location_Y": "113.625",
        "Scale": "15",
        "Label": "淮河路与兴华街交叉口",
        "MsgId": "900001",
    }
    image = {
        **base,
        "MsgType": "image",
        "PicUrl": "http://x/y.jpg",
        "MediaId": media_id,
        "MsgId": "900002",
    }
    for message in (location, image, text(wx_user, "私拉电线很危险", "900003")):
        assert post_plain(client, message).status_code == 200
    assert process_inbox() == 3
    draft = db.session.query(Report).one()
    assert (draft.lat, draft.lng, draft.address) == (34.73, 113.625, "淮河路与兴华街交叉口")
    photo = db.session.query(Upload).one()
    assert (photo.ref_type, photo.ref_id, photo.source) == ("report", draft.id, "wechat")


def test_wrong_signature_wrong_appid_and_malformed_are_refused(
    client, app, wx_user, db, monkeypatch
):
    assert post_plain(client, text(wx_user, "x"), token="not-our-token").status_code == 403
    no_sig = client.post(URL, data=_xml(text(wx_user, "x")).encode())
    assert no_sig.status_code == 403
    for body in ("<xml><unclosed>", "{not json", "", "[1,2]", "<xml></xml>"):
        response = post_plain(client, body)
        assert response.status_code == 400, body
    monkeypatch.setitem(app.config, "WECHAT_ENCODING_AES_KEY", AES_KEY)  # safe mode from here
    aes = app.config["WECHAT_APPID"]
    assert post_aes(client, text(wx_user, "x"), "wx_not_our_app").status_code == 403
    other_key = "A" * 43
    assert post_aes(client, text(wx_user, "x"), aes, key=other_key).status_code in (400, 403)
    bad_encrypt = client.post(
        URL,
        query_string=_query(encrypt_type="aes", msg_signature="0" * 40),
        data=b"<xml><Encrypt>%%%</Encrypt></xml>",
    )
    assert bad_encrypt.status_code == 403
    assert db.session.query(WeChatInbound).count() == 0
    assert db.session.query(Report).count() == 0


def test_replayed_msgid_makes_one_report(client, wx_user, db, redis):
    message = text(wx_user, "占道经营", "12345678901234567")
    for _ in range(3):
        assert post_plain(client, message).status_code == 200
    redis.flushdb()  # even when the fast dedupe is gone, the stored MsgId still holds
    assert post_plain(client, message).status_code == 200
    assert db.session.query(WeChatInbound).count() == 1
    process_inbox()
    process_inbox()
    assert db.session.query(Report).count() == 1
    assert db.session.query(Report).one().description == "占道经营"


def test_unknown_message_type_gets_a_helpful_reply(client, wx_user, sandbox, db):
    voice = {
        "ToUserName": "gh_test",
        "FromUserName": wx_user,
        "CreateTime": int(time.time()),
        "MsgType": "voice",
        "MediaId": "m1",
        "Format": "amr",
        "MsgId": "777",
    }
    assert post_plain(client, voice, as_json=True).status_code == 200
    process_inbox()
    replies = [m["body"] for m in sandbox.messages() if m["body"]["touser"] == wx_user]
    assert len(replies) == 1 and "文字描述" in replies[0]["text"]["content"]
    assert db.session.query(Report).count() == 0


def test_draft_is_completed_and_filed_in_the_mini_program(client, wx_user, db, login, units):
    from tests.factories import make_categories

    cats = make_categories(units["S1"])
    post_plain(client, text(wx_user, "消防通道被占"))
    process_inbox()
    draft = db.session.query(Report).one()
    auth = login("resident", openid=wx_user)
    assert client.get(f"/api/v1/reports/{draft.id}", headers=auth).get_json()["status"] == "draft"
    other = login("resident")
    assert client.get(f"/api/v1/reports/{draft.id}", headers=other).status_code == 404
    response = client.post(
        f"/api/v1/reports/{draft.id}/submit",
        json={"category_id": cats["fire_hazard"].id, "lat": 34.73, "lng": 113.635},
        headers=auth,
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "received" and body["description"] == "消防通道被占"
    again = client.post(
        f"/api/v1/reports/{draft.id}/submit",
        json={"category_id": cats["fire_hazard"].id},
        headers=auth,
    )
    assert (again.status_code, again.get_json()["code"]) == (409, "report.not_draft")


def test_media_check_event_for_unknown_trace_is_harmless(client):
    event = {
        "ToUserName": "gh_test",
        "FromUserName": "o_x",
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "wxa_media_check",
        "trace_id": "nope",
        "version": 2,
        "result": {"suggest": "risky", "label": 20002},
    }
    assert post_plain(client, event).status_code == 200
    assert post_plain(client, event, as_json=True).status_code == 200


def test_an_encrypted_message_without_a_key_says_what_to_set(client, wx_user, caplog, db):
    """The console in safe mode, the server without its EncodingAESKey: refused, and the log
    names the missing setting rather than only "InvalidSignatureException"."""
    with caplog.at_level("ERROR", logger="server.wechat.callback"):
        response = post_aes(client, text(wx_user, "x"), "wx-appid-not-used")
    assert response.status_code == 403
    assert any("WECHAT_ENCODING_AES_KEY is not set" in r.getMessage() for r in caplog.records)
    assert db.session.query(WeChatInbound).count() == 0


def test_safe_mode_refuses_a_plain_push_even_with_a_good_signature(client, aes, wx_user, db):
    """In plain mode the signature does not cover the body: with safe mode configured, the
    `signature` of a genuine safe-mode push (WeChat sends it beside msg_signature; access
    logs record it) must not carry a body of one's own."""
    seen = _query(encrypt_type="aes", msg_signature="f" * 40)
    forged = {k: seen[k] for k in ("timestamp", "nonce", "signature")}
    response = client.post(URL, query_string=forged, data=_xml(text(wx_user, "伪造")).encode())
    assert response.status_code == 403
    assert db.session.query(WeChatInbound).count() == 0
    assert post_aes(client, text(wx_user, "真的"), aes).status_code == 200  # safe mode works


def test_a_signed_query_is_good_for_one_push(client, wx_user, db):
    query = _query()
    first = client.post(URL, query_string=query, data=_xml(text(wx_user, "真")).encode())
    assert first.status_code == 200
    again = client.post(URL, query_string=query, data=_xml(text(wx_user, "假")).encode())
    assert again.status_code == 403
    assert db.session.query(WeChatInbound).count() == 1


def test_a_push_the_handlers_failed_may_come_again_with_its_query(client, wx_user, db, monkeypatch):
    """A 503 asks WeChat to retry: the retry is welcome whether or not its query is new."""
    from server.wechat import callback

    query = _query()
    body = _xml(text(wx_user, "占道经营", "22345678901234567")).encode()
    monkeypatch.setattr(callback, "_call", lambda dotted, message: 1 / 0)
    assert client.post(URL, query_string=query, data=body).status_code == 503
    monkeypatch.undo()
    assert client.post(URL, query_string=query, data=body).status_code == 200
    assert db.session.query(WeChatInbound).count() == 1


@pytest.mark.parametrize(
    "body",
    [
        json.dumps({"MsgType": "event", "FromUserName": "o_x", "Event": ["a"], "CreateTime": 1}),
        json.dumps({"MsgType": "event", "FromUserName": 12345, "Event": "x", "CreateTime": 1}),
        "<xml><MsgType>event</MsgType><FromUserName><a>1</a></FromUserName>"
        "<Event>x</Event><CreateTime>1</CreateTime></xml>",
        json.dumps({"MsgType": "text", "FromUserName": "o_x", "MsgId": {"a": 1}}),
    ],
)
def test_a_signed_push_with_odd_fields_is_a_400_not_a_500(app, client, body, monkeypatch):
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    response = client.post(URL, query_string=_query(), data=body.encode())
    assert response.status_code == 400, response.get_data(as_text=True)


def test_wechats_resend_of_a_handled_push_is_success_not_refused(client, wx_user, db):
    """WeChat resends a push whose answer it did not get within 5 s, with the same query:
    dropped by its MsgId ("success"), not refused as a used query."""
    query = _query()
    body = _xml(text(wx_user, "占道经营", "32345678901234567")).encode()
    assert client.post(URL, query_string=query, data=body).get_data(as_text=True) == "success"
    retry = client.post(URL, query_string=query, data=body)
    assert (retry.status_code, retry.get_data(as_text=True)) == (200, "success")
    assert db.session.query(WeChatInbound).count() == 1


def test_a_query_freed_by_a_handler_failure_still_carries_only_its_own_push(
    client, wx_user, db, monkeypatch
):
    from server.wechat import callback

    query = _query()
    genuine = _xml(text(wx_user, "占道经营", "52345678901234567")).encode()
    monkeypatch.setattr(callback, "_call", lambda dotted, message: 1 / 0)
    assert client.post(URL, query_string=query, data=genuine).status_code == 503
    monkeypatch.undo()
    forged = _xml(text("o_someone_else", "伪造的举报", "62345678901234567")).encode()
    assert client.post(URL, query_string=query, data=forged).status_code == 403
    assert db.session.query(WeChatInbound).count() == 0
    assert client.post(URL, query_string=query, data=genuine).status_code == 200  # the retry
    assert db.session.query(WeChatInbound).count() == 1


def test_a_draft_filed_with_a_null_place_keeps_the_place_it_was_sent(
    client, wx_user, db, login, units
):
    """The place a resident sent in WeChat is kept when the form sends no new one: `null`
    (as a client writes an unset field) is not an order to erase it."""
    from tests.factories import make_categories

    cats = make_categories(units["S1"])
    location = {
        "ToUserName": "gh_test",
        "FromUserName": wx_user,
        "CreateTime": int(time.time()),
        "MsgType": "location",
        "Location_X": "34.730",
        "Location_Y": "113.625",
        "Scale": "15",
        "Label": "淮河路与兴华街交叉口",
        "MsgId": "900101",
    }
    for message in (location, text(wx_user, "消防通道被占", "900102")):
        assert post_plain(client, message).status_code == 200
    process_inbox()
    draft = db.session.query(Report).one()
    auth = login("resident", openid=wx_user)
    response = client.post(
        f"/api/v1/reports/{draft.id}/submit",
        json={"category_id": cats["fire_hazard"].id, "lat": None, "lng": None, "address": None},
        headers=auth,
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    filed = db.session.get(Report, draft.id)
    assert (filed.lat, filed.lng, filed.address) == (34.73, 113.625, "淮河路与兴华街交叉口")

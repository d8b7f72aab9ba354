"""Ways a delivery can end that must not send twice or lose a subscription credit: an
admin retry racing a worker, a retry by another channel or into the inbox, and network
errors before / after the request reached WeChat."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import update
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from server import clock
from server.auth.models import User
from server.extensions import db
from server.notifications.config import setting
from server.notifications.models import Notification
from server.notifications.services import credit_count, notify
from server.notifications.tasks import _outcome_unknown, deliver, deliver_due_now
from server.wechat.errors import WeChatError, WeChatUnavailable
from tests.notifications.conftest import SEND_PATH, rows, sends, tpl

START = dt.datetime(2024, 5, 1, 8, 0)


def _row(notification_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, notification_id)


def _failed_once_holding_a_credit(auth, kind: str, title: str = "t") -> Notification:
    """Attempt 1 by subscribe message: WeChat busy (-1); the row keeps the credit it took."""
    clock.freeze(START)
    notify(auth.user_id, kind, title=title, body="b", data={"category": "路灯"})
    db.session.commit()
    assert deliver_due_now() == {"pending": 1}
    [row] = rows(auth.user_id)
    assert row.credit_held and row.channel == "subscribe"
    assert credit_count(auth.user_id, tpl(kind)) == 0
    clock.freeze(START + dt.timedelta(minutes=5))  # the retry is due
    return row


# -- an admin retry never makes a second send ---------------------------------------------


def _claimed(rider, seconds_ago: float) -> int:
    row = notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    row.status, row.attempts = "sending", 1
    row.claimed_at = clock.utcnow() - dt.timedelta(seconds=seconds_ago)
    db.session.commit()
    return row.id


def test_admin_retry_of_a_row_a_worker_is_sending_is_refused(client, login):
    admin = login("admin", "D")
    rider = login("rider")
    nid = _claimed(rider, seconds_ago=1)  # lease not expired: a live worker has it
    response = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=admin)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "notification.not_retryable" and "正在发送" in body["message"]
    row = _row(nid)
    assert (row.status, row.attempts, row.claimed_at is not None) == ("sending", 1, True)


def test_admin_retry_of_a_stuck_or_failed_row_puts_it_back(client, login):
    admin = login("admin", "D")
    rider = login("rider")
    lease = setting("NOTIFY_SENDING_LEASE_SECONDS")
    stuck = _claimed(rider, seconds_ago=lease + 60)
    failed = notify(rider.user_id, "report_status", title="失败的", body="b")
    db.session.commit()
    failed.status, failed.attempts, failed.last_error = "failed", 5, "47003: x"
    db.session.commit()
    for nid in (stuck, failed.id):
        response = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=admin)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["status"] == "pending"
        row = _row(nid)
        assert (row.status, row.attempts, row.claimed_at) == ("pending", 0, None)


def test_admin_retry_of_a_row_a_worker_just_sent_does_not_undo_it(login):
    """The admin's session read the row stuck in `sending`; the worker then marks it sent
    (another connection). The retry is decided in the database, not on the stale copy."""
    from server.notifications.admin import retry

    login("admin", "D")
    rider = login("rider")
    nid = _claimed(rider, seconds_ago=3600)
    assert db.session.get(Notification, nid).status == "sending"  # the admin's copy
    with db.engine.begin() as other:
        other.execute(
            update(Notification.__table__)
            .where(Notification.__table__.c.id == nid)
            .values(status="sent", claimed_at=None, sent_at=clock.utcnow())
        )
    from server.errors import Conflict

    with pytest.raises(Conflict) as refused:
        retry(nid)
    assert refused.value.code == "notification.not_retryable"
    assert "已发送" in refused.value.message
    assert _row(nid).status == "sent"


def test_a_worker_sending_while_the_admin_retries_sends_once(app, client, login, sandbox, credit):
    """A live worker is inside a slow WeChat call when the admin presses retry."""
    admin = login("admin", "D")
    rider = login("rider")
    credit(rider, "report_status", 2)
    row = notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    nid = row.id
    sandbox.fault(SEND_PATH, delay_seconds=1.2, times=1)  # slow, within the 2 s timeout

    def first_worker():
        with app.app_context():
            deliver(nid)

    worker = threading.Thread(target=first_worker)
    worker.start()
    try:
        for _ in range(300):
            db.session.rollback()
            if db.session.get(Notification, nid).status == "sending":
                break
            time.sleep(0.01)
        db.session.rollback()
        response = client.post(f"/api/v1/admin/notifications/{nid}/retry", headers=admin)
        second = deliver(nid)  # what a second worker would do with a re-enqueued job
    finally:
        worker.join(timeout=30)
    assert response.status_code == 409, response.get_json()
    assert second == "skipped"
    assert [c["errcode"] for c in sends(sandbox)] == [0]
    assert _row(nid).status == "sent"
    assert credit_count(rider.user_id, tpl("report_status")) == 1


def test_cli_retry_of_a_row_being_sent_says_why_and_exits_non_zero(app, login):
    rider = login("rider")
    nid = _claimed(rider, seconds_ago=1)
    result = CliRunner().invoke(app.cli, ["outbox", "retry", "--id", str(nid), "--id", "999999"])
    assert result.exit_code == 1, result.output
    assert f"{nid}: not requeued (notification.not_retryable): 该消息正在发送中" in result.output
    assert "999999: not requeued (notification.not_found)" in result.output
    assert "requeued 0, not requeued 2" in result.output
    assert _row(nid).status == "sending"


# -- a credit held by a failed subscribe attempt is given back ----------------------------


def _follow_the_official_account(app, monkeypatch, auth) -> None:
    from server.notifications.channels import record_oa_follower

    monkeypatch.setitem(app.config, "WECHAT_OA_APPID", app.config["WECHAT_APPID"])
    monkeypatch.setitem(app.config, "WECHAT_OA_SECRET", app.config["WECHAT_SECRET"])
    spec = {"work_order_new": {"template_id": "OA_TPL_1", "fields": {"thing1": "category"}}}
    monkeypatch.setitem(app.config, "WECHAT_OA_TEMPLATES_JSON", json.dumps(spec))
    db.session.get(User, auth.user_id).unionid = "union-grid-1"
    record_oa_follower("union-grid-1", "oa_openid_grid_1")
    db.session.commit()


def test_a_retry_by_the_official_account_gives_the_subscribe_credit_back(
    app, login, sandbox, credit, monkeypatch
):
    grid = login("grid_worker", "A1")
    credit(grid, "work_order_new")
    sandbox.fault(SEND_PATH, errcode=-1, times=1)
    _failed_once_holding_a_credit(grid, "work_order_new")
    _follow_the_official_account(app, monkeypatch, grid)
    sent = []  # the sandbox has no message/template/send: WeChat accepting it, as it would
    monkeypatch.setattr(
        "server.notifications.tasks.send_oa_template",
        lambda row, openid: sent.append(openid) or {"msgid": 7},
    )
    assert deliver_due_now() == {"sent": 1}
    [row] = rows(grid.user_id)
    assert row.channel == "oa_template" and not row.credit_held and row.status == "sent"
    assert sent == ["oa_openid_grid_1"]
    assert [c["errcode"] for c in sends(sandbox)] == [-1]  # no subscribe message used it
    assert credit_count(grid.user_id, tpl("work_order_new")) == 1


def test_a_retry_by_the_official_account_that_fails_for_good_leaves_the_credit_back(
    app, login, sandbox, credit, monkeypatch
):
    """Switching channel gives the credit back at once: a later failure cannot lose it."""
    grid = login("grid_worker", "A1")
    credit(grid, "work_order_new")
    sandbox.fault(SEND_PATH, errcode=-1, times=1)
    _failed_once_holding_a_credit(grid, "work_order_new")
    _follow_the_official_account(app, monkeypatch, grid)

    def refused(row, openid):
        raise WeChatError(40037, "invalid template_id", path="/cgi-bin/message/template/send")

    monkeypatch.setattr("server.notifications.tasks.send_oa_template", refused)
    assert deliver_due_now() == {"failed": 1}
    [row] = rows(grid.user_id)
    assert row.channel == "oa_template" and not row.credit_held
    assert credit_count(grid.user_id, tpl("work_order_new")) == 1


def test_a_retry_for_a_deactivated_user_ends_in_the_inbox_with_the_credit_back(
    login, sandbox, credit
):
    rider = login("rider")
    credit(rider, "report_status")
    sandbox.fault(SEND_PATH, errcode=-1, times=1)
    _failed_once_holding_a_credit(rider, "report_status")
    db.session.get(User, rider.user_id).is_active = False
    db.session.commit()
    assert deliver_due_now() == {"inbox": 1}
    [row] = rows(rider.user_id)
    assert row.last_error == "user cannot receive WeChat messages" and not row.credit_held
    assert credit_count(rider.user_id, tpl("report_status")) == 1


def test_a_retry_after_the_template_was_removed_ends_in_the_inbox_with_the_credit_back(
    login, sandbox, credit, monkeypatch
):
    rider = login("rider")
    credit(rider, "report_status")
    sandbox.fault(SEND_PATH, errcode=-1, times=1)
    _failed_once_holding_a_credit(rider, "report_status")
    template_id = tpl("report_status")
    monkeypatch.setattr("server.notifications.tasks.template_for", lambda kind: None)
    assert deliver_due_now() == {"inbox": 1}
    [row] = rows(rider.user_id)
    assert row.last_error == "no template configured for this kind" and not row.credit_held
    assert credit_count(rider.user_id, template_id) == 1


# -- nothing sent (retry) or the answer lost (no retry) ----------------------------------


def test_a_connect_timeout_sent_nothing_and_is_retried(login, sandbox, credit, monkeypatch):
    from server.wechat.client import _RebasingSession

    rider = login("rider")
    credit(rider, "report_status")
    real = _RebasingSession.request

    def no_connection(self, method, url, *args, **kwargs):
        if SEND_PATH in url:
            raise requests.ConnectTimeout("connect timed out")
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(_RebasingSession, "request", no_connection)
    clock.freeze(START)
    notify(rider.user_id, "report_status", title="上报已受理", body="…")
    db.session.commit()
    assert deliver_due_now() == {"pending": 1}
    [row] = rows(rider.user_id)
    assert row.credit_held and "timed out" in row.last_error
    monkeypatch.setattr(_RebasingSession, "request", real)
    clock.freeze(START + dt.timedelta(minutes=5))
    assert deliver_due_now() == {"sent": 1}
    assert [c["errcode"] for c in sends(sandbox)] == [0]
    assert credit_count(rider.user_id, tpl("report_status")) == 0


def test_a_refused_connection_sent_nothing_and_is_retried(app, login, credit):
    """A real refused connection (nothing listens on port 1)."""
    from server.extensions import get_redis
    from server.wechat import get_client
    from server.wechat.client import build_client

    rider = login("rider")
    credit(rider, "report_status")
    get_client().fetch_access_token()  # the token is shared through Redis
    dead = build_client({**app.config, "WECHAT_API_BASE_URL": "http://127.0.0.1:1/"}, get_redis())
    app.extensions["wechat_client"] = dead
    try:
        notify(rider.user_id, "report_status", title="上报已受理", body="…")
        db.session.commit()
        assert deliver_due_now() == {"pending": 1}
    finally:
        dead.close()
        app.extensions.pop("wechat_client", None)
    [row] = rows(rider.user_id)
    assert row.credit_held and "ConnectionError" in row.last_error


def _raised_from(cause: Exception, path: str = SEND_PATH) -> WeChatUnavailable:
    """A WeChatUnavailable raised the way the client raises it (`from None` in an except)."""
    try:
        try:
            raise cause
        except requests.RequestException:
            raise WeChatUnavailable(None, "x", path=path) from None
    except WeChatUnavailable as exc:
        return exc


def test_which_network_errors_leave_the_outcome_unknown():
    refused = MaxRetryError(None, "/", NewConnectionError(None, "refused"))
    body_timeout = ReadTimeoutError(None, "/", "read timed out")
    assert _outcome_unknown(_raised_from(requests.ReadTimeout("read")))
    assert _outcome_unknown(_raised_from(requests.ConnectionError(body_timeout)))
    assert _outcome_unknown(
        _raised_from(requests.ReadTimeout("read"), "/cgi-bin/message/template/send")
    )
    assert not _outcome_unknown(_raised_from(requests.ConnectTimeout("connect")))
    assert not _outcome_unknown(_raised_from(requests.ConnectionError(refused)))
    # a token fetch that timed out sent no message
    assert not _outcome_unknown(_raised_from(requests.ReadTimeout("r"), "/cgi-bin/stable_token"))
    assert not _outcome_unknown(WeChatUnavailable(-1, "system busy", path=SEND_PATH))


def test_bulk_retry_leaves_out_sends_whose_outcome_is_unknown(app, login):
    """After a WeChat outage the timed-out sends are many, and each may have reached its
    user: --all-failed leaves them out unless --include-unknown (or one named by --id)."""
    from click.testing import CliRunner

    from server.notifications.models import Notification
    from server.notifications.tasks import OUTCOME_UNKNOWN, WORKER_LOST

    rider = login("rider")
    unknown = notify(rider.user_id, "report_status", title="上报已受理", body="a")
    failed = notify(rider.user_id, "report_status", title="上报已受理", body="b")
    lost = notify(rider.user_id, "report_status", title="上报已受理", body="c")
    db.session.commit()
    unknown.status, unknown.attempts, unknown.last_error = "failed", 1, OUTCOME_UNKNOWN
    failed.status, failed.attempts, failed.last_error = "failed", 5, "-1: system busy"
    lost.status, lost.attempts, lost.last_error = "failed", 5, WORKER_LOST
    db.session.commit()
    ids = unknown.id, failed.id, lost.id

    def states():
        db.session.expire_all()
        return [db.session.get(Notification, i).status for i in ids]

    result = CliRunner().invoke(app.cli, ["outbox", "retry", "--all-failed"])
    assert result.exit_code == 0, result.output
    assert states() == ["failed", "pending", "failed"]
    result = CliRunner().invoke(app.cli, ["outbox", "retry", "--all-failed", "--include-unknown"])
    assert result.exit_code == 0, result.output
    assert states() == ["pending", "pending", "pending"]

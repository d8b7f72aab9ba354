"""The inbox job (`process_inbox`): a message that fails is tried again, never lost; one that
keeps failing is given up loudly; a runner that died leaves nothing stuck."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from server import clock
from server.auth.models import User
from server.reports.models import Report, WeChatInbound
from server.reports.wechat_channel import CLAIM_LEASE, MAX_ATTEMPTS, process_inbox
from server.uploads.models import Upload
from tests.factories import jpeg_bytes
from tests.wechat.test_callback import post_plain, text

LOGGER = "server.reports.wechat_channel"


@pytest.fixture
def wx_user(sandbox):
    openid = f"o_wx_{uuid.uuid4().hex[:8]}"
    sandbox.add_user(openid)
    return openid


@pytest.fixture
def full_disk(app, monkeypatch):
    """Storing a photo fails (OSError) until `.heal()`."""
    from server.uploads.storage import get_storage

    storage = get_storage()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(storage, "save", no_space)

    class Disk:
        @staticmethod
        def heal():
            monkeypatch.undo()

    return Disk


def _image(sandbox, openid: str, msg_id: str) -> dict:
    return {
        "ToUserName": "gh_test",
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "image",
        "PicUrl": "http://x/y.jpg",
        "MediaId": sandbox.upload_media(jpeg_bytes()),
        "MsgId": msg_id,
    }


def _row(db, openid: str) -> WeChatInbound:
    db.session.expire_all()
    return db.session.query(WeChatInbound).filter_by(openid=openid).one()


def test_a_photo_that_failed_on_storage_is_tried_again_and_the_batch_goes_on(
    client, wx_user, sandbox, db, full_disk
):
    neighbour = f"o_wx_{uuid.uuid4().hex[:8]}"
    sandbox.add_user(neighbour)
    assert post_plain(client, _image(sandbox, wx_user, "910001")).status_code == 200
    assert post_plain(client, text(neighbour, "楼道堆满杂物")).status_code == 200

    assert process_inbox() == 1  # the photo failed; the job did not, the next message was done
    row = _row(db, wx_user)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.error.startswith("OSError") and "No space left" in row.error
    assert _row(db, neighbour).status == "done"
    assert db.session.query(Report).count() == 1  # the neighbour's draft, not a half one

    full_disk.heal()
    assert process_inbox() == 1
    row = _row(db, wx_user)
    assert (row.status, row.attempts, row.error) == ("done", 2, None)
    photo = db.session.query(Upload).one()
    assert (photo.ref_type, photo.ref_id) == ("report", row.report_id)
    replies = [m["body"] for m in sandbox.messages() if m["body"]["touser"] == wx_user]
    assert replies and "已收到现场照片" in replies[0]["text"]["content"]


def test_a_message_failing_every_time_is_given_up_and_logged(
    client, wx_user, sandbox, db, full_disk, caplog
):
    assert post_plain(client, _image(sandbox, wx_user, "910002")).status_code == 200
    with caplog.at_level("WARNING", logger=LOGGER):
        for _ in range(MAX_ATTEMPTS):
            assert process_inbox() == 0
    row = _row(db, wx_user)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.error.startswith("OSError")
    given_up = [r for r in caplog.records if r.levelname == "ERROR" and "given up" in r.message]
    assert len(given_up) == 1 and f"inbox row {row.id}" in given_up[0].message
    full_disk.heal()
    assert process_inbox() == 0  # failed is final: the operator looks at it
    assert _row(db, wx_user).attempts == MAX_ATTEMPTS
    assert db.session.query(Report).count() == 0


def test_a_message_whose_runner_died_is_taken_again_after_the_lease(client, wx_user, sandbox, db):
    before = f"o_wx_{uuid.uuid4().hex[:8]}"  # stuck before claims had a time (the upgrade)
    sandbox.add_user(before)
    assert post_plain(client, text(wx_user, "路灯不亮")).status_code == 200
    assert post_plain(client, text(before, "井盖松动")).status_code == 200
    now = clock.utcnow()
    # a runner claimed each and was killed: both stay 'processing'
    db.session.query(WeChatInbound).filter_by(openid=wx_user).update(
        {"status": "processing", "attempts": 1, "claimed_at": now}
    )
    db.session.query(WeChatInbound).filter_by(openid=before).update(
        {"status": "processing", "attempts": 1, "claimed_at": None, "created_at": now}
    )
    db.session.commit()

    assert process_inbox() == 0  # within the lease the runner may still be at work
    clock.freeze(now + CLAIM_LEASE + dt.timedelta(seconds=1))
    assert process_inbox() == 2
    for openid, said in ((wx_user, "路灯不亮"), (before, "井盖松动")):
        row = _row(db, openid)
        assert (row.status, row.attempts) == ("done", 2)
        assert db.session.get(Report, row.report_id).description == said
    assert db.session.query(Report).count() == 2


def test_a_message_whose_runner_died_every_time_is_given_up(client, wx_user, db, caplog):
    assert post_plain(client, text(wx_user, "路灯不亮")).status_code == 200
    claimed = clock.utcnow() - CLAIM_LEASE - dt.timedelta(minutes=1)
    db.session.query(WeChatInbound).update(
        {"status": "processing", "attempts": MAX_ATTEMPTS, "claimed_at": claimed}
    )
    db.session.commit()
    with caplog.at_level("ERROR", logger=LOGGER):
        assert process_inbox() == 0
    row = _row(db, wx_user)
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert row.error.startswith("abandoned")
    assert any(f"inbox row {row.id}" in r.message for r in caplog.records)
    assert db.session.query(Report).count() == 0


def test_a_sender_created_meanwhile_by_another_runner_is_that_account(client, wx_user, db):
    """Two runners handle two first messages of a new sender: each finds no account, one
    creates it first; the other uses that account rather than failing on the unique openid."""
    assert post_plain(client, text(wx_user, "占道经营")).status_code == 200
    created: list[int] = []

    def other_runner_between_read_and_insert(state):
        mappers = {m.class_ for m in state.all_mappers}
        if created or not state.is_select or User not in mappers:
            return None
        found = state.invoke_statement().freeze()  # this runner: no account yet
        created.append(0)
        with Session(db.engine) as other:  # the other runner commits the account meanwhile
            account = User(openid=wx_user, citizen_role="resident")
            other.add(account)
            other.commit()
            created[0] = account.id
        return found()

    event.listen(Session, "do_orm_execute", other_runner_between_read_and_insert)
    try:
        assert process_inbox() == 1
    finally:
        event.remove(Session, "do_orm_execute", other_runner_between_read_and_insert)
    assert created, "the runner never looked the sender up"
    row = _row(db, wx_user)
    assert (row.status, row.attempts, row.error) == ("done", 1, None)
    assert db.session.query(User).filter_by(openid=wx_user).count() == 1
    assert db.session.get(Report, row.report_id).reporter_id == created[0]


def test_the_operator_retries_a_given_up_message_once_the_cause_is_mended(
    app, client, wx_user, sandbox, db, full_disk
):
    """`fengchao inbox status` lists what was given up; `fengchao inbox retry` gives it back
    to the job with fresh tries, and the photo lands on the sender's draft once."""
    from click.testing import CliRunner

    assert post_plain(client, _image(sandbox, wx_user, "910003")).status_code == 200
    assert post_plain(client, text(wx_user, "垃圾桶满了")).status_code == 200
    for _ in range(MAX_ATTEMPTS):
        process_inbox()
    failed = _row_of(db, "910003")
    assert (failed.status, failed.attempts) == ("failed", MAX_ATTEMPTS)
    runner = CliRunner()
    status = runner.invoke(app.cli, ["inbox", "status"])
    assert status.exit_code == 0, status.output
    assert "failed     1" in status.output and "done       1" in status.output
    assert f"#{failed.id} " in status.output and "No space left" in status.output

    full_disk.heal()
    retried = runner.invoke(app.cli, ["inbox", "retry", "--all-failed"])
    assert retried.exit_code == 0, retried.output
    assert "requeued 1" in retried.output
    row = _row_of(db, "910003")
    assert (row.status, row.attempts, row.error, row.claimed_at) == ("pending", 0, None, None)
    assert process_inbox() == 1
    row = _row_of(db, "910003")
    assert (row.status, row.attempts) == ("done", 1)
    draft = db.session.get(Report, row.report_id)
    assert draft.description == "垃圾桶满了"  # the same draft as the text
    assert db.session.query(Upload).filter_by(ref_type="report", ref_id=draft.id).count() == 1

    again = runner.invoke(app.cli, ["inbox", "retry", "--id", str(row.id), "--id", "999999"])
    assert again.exit_code == 1
    assert f"{row.id}: not requeued: it is done, not failed" in again.output
    assert "999999: not requeued: no such message" in again.output
    assert _row_of(db, "910003").status == "done"  # nothing handled twice
    assert db.session.query(Upload).count() == 1


def test_inbox_retry_needs_a_target(app):
    from click.testing import CliRunner

    result = CliRunner().invoke(app.cli, ["inbox", "retry"])
    assert result.exit_code != 0 and "--all-failed" in result.output


def _row_of(db, msg_id: str) -> WeChatInbound:
    db.session.expire_all()
    return db.session.query(WeChatInbound).filter_by(dedupe_key=f"msg:{msg_id}").one()

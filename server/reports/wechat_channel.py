"""Reporting by messaging: text, an image and a location (any order, within a window) become
a draft report; the reply carries its number and a card to complete it in the mini-program.

The callback only stores each message once (by MsgId) and answers WeChat at once;
`process_inbox` (a periodic job) does the slow part: downloading images, replying.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from server import pages
from server.auth.models import User
from server.clock import local, utcnow
from server.extensions import db, get_redis
from server.reports.models import Report, WeChatInbound
from server.reports.services import MAX_PHOTOS
from server.uploads.models import Upload

log = logging.getLogger(__name__)

DRAFT_WINDOW = dt.timedelta(minutes=30)
MAX_DESCRIPTION = 1000
MAX_ATTEMPTS = 5
# A claim older than this lost its runner (the job's timeout is a minute): taken again.
CLAIM_LEASE = dt.timedelta(minutes=10)
CARD_THUMB_KEY = "fc:wechat:report-card-thumb"
SUPPORTED = ("text", "image", "location")
HELP_TEXT = (
    "您好，这里是蜂巢问题反映。请直接发送文字描述、现场照片和位置（可分几条发送），"
    "我们会生成一条反映并告诉您编号；也可以在小程序里提交和查看进度。"
)


def dedupe_key(message: dict[str, Any]) -> str:
    """WeChat's retries carry the same MsgId; events have none: sender + time + event + a
    digest of the whole event (a retry is the same push again; two different events of one
    user in the same second — two subscribe popups, say — are two)."""
    if message.get("MsgId"):
        return f"msg:{message['MsgId']}"
    digest = hashlib.sha256(
        json.dumps(message, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:16]
    parts = [
        str(message.get("FromUserName", "")),
        str(message.get("CreateTime", "")),
        str(message.get("Event", "")),
        str(message.get("trace_id", "")),
        digest,
    ]
    return "ev:" + ":".join(parts)


def enqueue_message(message: dict[str, Any]) -> None:
    """Callback handler (text, image, location, others): store once for the inbox job."""
    msg_type = str(message.get("MsgType", "")).lower()
    openid = message.get("FromUserName")
    if not openid:
        return
    row = WeChatInbound(
        dedupe_key=dedupe_key(message)[:128],
        openid=str(openid)[:64],
        msg_type=msg_type if msg_type in SUPPORTED else "unsupported",
        payload={k: v for k, v in message.items() if isinstance(v, str | int | float)},
        created_at=utcnow(),
    )
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same message again: nothing to do
        db.session.rollback()


def on_media_check(message: dict[str, Any]) -> None:
    """Callback handler for `wxa_media_check`: record the verdict on the photo."""
    from server.uploads.services import apply_media_check

    result = message.get("result") or {}
    suggest = result.get("suggest") if isinstance(result, dict) else None
    label = result.get("label") if isinstance(result, dict) else None
    trace_id = message.get("trace_id")
    if not trace_id or not suggest:
        log.warning("wxa_media_check without trace_id or result: %s", sorted(message))
        return
    try:
        label = int(label) if label is not None else None
    except (TypeError, ValueError):
        label = None
    apply_media_check(str(trace_id), str(suggest), label)


def _user(openid: str) -> User:
    """The sender's account, created with their first message (once, when two runners race)."""
    by_openid = select(User).where(User.openid == openid)
    user = db.session.execute(by_openid).scalar_one_or_none()
    if user is not None:
        return user
    try:
        with db.session.begin_nested():
            user = User(openid=openid, citizen_role="resident")
            db.session.add(user)
    except IntegrityError:  # another runner (or a login) created it meanwhile: that one it is
        user = db.session.execute(by_openid).scalar_one()
    return user


def _draft(user: User, now: dt.datetime) -> tuple[Report, bool]:
    draft = db.session.execute(
        select(Report)
        .where(
            Report.reporter_id == user.id,
            Report.status == "draft",
            Report.channel == "wechat",
            Report.updated_at >= now - DRAFT_WINDOW,
        )
        .order_by(Report.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if draft is not None:
        return draft, False
    draft = Report(
        reporter_id=user.id,
        reporter_role=user.citizen_role,
        status="draft",
        channel="wechat",
        description="",
    )
    db.session.add(draft)
    db.session.flush()
    draft.report_no = f"{local(now):%y%m%d}{draft.id:05d}"
    return draft, True


def _apply(row: WeChatInbound, draft: Report, user: User) -> str:
    """Add one message to the draft; returns what to tell the user."""
    payload = row.payload
    if row.msg_type == "text":
        text = str(payload.get("Content", "")).strip()
        joined = "\n".join(p for p in (draft.description, text) if p)
        draft.description = joined[:MAX_DESCRIPTION]
        return "已记录您的文字描述"
    if row.msg_type == "location":
        try:
            draft.lat = float(payload["Location_X"])
            draft.lng = float(payload["Location_Y"])
        except (KeyError, TypeError, ValueError):
            return "没能识别这个位置，请重新发送"
        label = str(payload.get("Label") or "").strip()
        draft.address = label[:255] or draft.address
        return "已记录问题位置"
    # image
    from server.errors import DomainError
    from server.uploads.services import store_image
    from server.wechat import get_client
    from server.wechat.api import download_media

    have = db.session.execute(
        select(Upload.id).where(Upload.ref_type == "report", Upload.ref_id == draft.id)
    ).all()
    if len(have) >= MAX_PHOTOS:
        return f"每条反映最多 {MAX_PHOTOS} 张照片，这张未添加"
    data = download_media(get_client(), str(payload.get("MediaId", "")))
    try:
        upload = store_image(user, data, source="wechat", commit=False)
    except DomainError as exc:
        return exc.message
    upload.ref_type, upload.ref_id = "report", draft.id
    return "已收到现场照片"


def _reply(openid: str, draft: Report, said: str, new: bool) -> None:
    from server.wechat import get_client
    from server.wechat.api import send_custom_miniprogram_page, send_custom_text
    from server.wechat.errors import WeChatError

    client = get_client()
    text = f"{said}。反映编号 {draft.report_no}，可继续发送文字、照片或位置补充，"
    text += "也可点击下方卡片在小程序中选择类别并提交。"
    try:
        send_custom_text(client, openid, text)
        if new:
            send_custom_miniprogram_page(
                client,
                openid,
                f"完善问题反映 {draft.report_no}",
                pages.REPORT_DETAIL.format(id=draft.id),
                _card_thumb(client),
            )
    except WeChatError as exc:  # outside the reply window, quota…: the draft is still there
        log.warning("reply to WeChat message failed: %s", exc)


def _card_thumb(client) -> str:
    """A temporary image for the card (cached: WeChat keeps it three days)."""
    import io

    from PIL import Image

    from server.wechat.api import upload_temp_image

    redis = get_redis()
    cached = redis.get(CARD_THUMB_KEY)
    if cached:
        return cached
    buffer = io.BytesIO()
    Image.new("RGB", (500, 400), (255, 183, 3)).save(buffer, "JPEG", quality=80)
    media_id = upload_temp_image(client, buffer.getvalue(), "report.jpg")
    redis.set(CARD_THUMB_KEY, media_id, ex=2 * 24 * 3600)
    return media_id


def _help(openid: str) -> None:
    from server.wechat import get_client
    from server.wechat.api import send_custom_text
    from server.wechat.errors import WeChatError

    try:
        send_custom_text(get_client(), openid, HELP_TEXT)
    except WeChatError as exc:
        log.warning("help reply failed: %s", exc)


def _claimable(now: dt.datetime):
    """Waiting, or claimed by a runner that has not finished within the lease (it died)."""
    lapsed = func.coalesce(WeChatInbound.claimed_at, WeChatInbound.created_at) < now - CLAIM_LEASE
    return or_(
        WeChatInbound.status == "pending",
        (WeChatInbound.status == "processing") & lapsed & (WeChatInbound.attempts < MAX_ATTEMPTS),
    )


def _fail_abandoned(now: dt.datetime) -> None:
    """Messages whose runner died on each of their attempts: failed, for the operator."""
    lapsed = func.coalesce(WeChatInbound.claimed_at, WeChatInbound.created_at) < now - CLAIM_LEASE
    abandoned = (
        (WeChatInbound.status == "processing") & lapsed & (WeChatInbound.attempts >= MAX_ATTEMPTS)
    )
    ids = list(db.session.execute(select(WeChatInbound.id).where(abandoned)).scalars())
    for row_id in ids:
        won = db.session.execute(
            update(WeChatInbound)
            .where(WeChatInbound.id == row_id, abandoned)
            .values(status="failed", error=f"abandoned: no runner finished {MAX_ATTEMPTS} claims")
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            log.error("WeChat message given up: inbox row %s, its runner died each time", row_id)
    db.session.commit()


def _claim(row_id: int, now: dt.datetime) -> WeChatInbound | None:
    """The row, claimed by this runner (attempts + 1 marks the claim), or None if taken."""
    won = db.session.execute(
        update(WeChatInbound)
        .where(WeChatInbound.id == row_id, _claimable(now))
        .values(status="processing", attempts=WeChatInbound.attempts + 1, claimed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if won != 1:
        return None
    row = db.session.get(WeChatInbound, row_id)
    db.session.refresh(row)
    return row


def _ours(row_id: int, attempt: int):
    """Still claimed by this runner: no other took it over after a lapsed lease."""
    return (
        (WeChatInbound.id == row_id)
        & (WeChatInbound.status == "processing")
        & (WeChatInbound.attempts == attempt)
    )


def _finish(row_id: int, attempt: int, report_id: int | None, now: dt.datetime) -> bool:
    """Mark the message done with the work of this transaction, and commit; False (and
    nothing kept) when the claim was lost meanwhile."""
    won = db.session.execute(
        update(WeChatInbound)
        .where(_ours(row_id, attempt))
        .values(status="done", report_id=report_id, processed_at=now, error=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        db.session.rollback()
        log.warning("WeChat message handled twice: inbox row %s was taken over", row_id)
        return False
    db.session.commit()
    return True


def _give_back(row_id: int, attempt: int, exc: BaseException) -> None:
    """After a failure (already rolled back): pending again for the next run, or failed once
    it has had MAX_ATTEMPTS tries."""
    status = "pending" if attempt < MAX_ATTEMPTS else "failed"
    db.session.execute(
        update(WeChatInbound)
        .where(_ours(row_id, attempt))
        .values(status=status, error=_describe(exc)[:255])
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if status == "failed":
        log.error(
            "WeChat message given up after %s attempts: inbox row %s: %s",
            attempt,
            row_id,
            _describe(exc),
        )


def _describe(exc: BaseException) -> str:
    """The error for the row and the log: a database error without its statement's values."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return f"{type(cause).__name__}: {cause}"


def _is_job_timeout(exc: BaseException) -> bool:
    from rq.timeouts import BaseTimeoutException

    return isinstance(exc, BaseTimeoutException)


def _handle(row: WeChatInbound) -> Callable[[], None] | None:
    """Apply one claimed message and commit; returns the reply to send (None: none)."""
    openid, attempt = row.openid, row.attempts
    now = utcnow()
    if row.msg_type == "unsupported":
        return (lambda: _help(openid)) if _finish(row.id, attempt, None, now) else None
    user = _user(openid)
    draft, new = _draft(user, now)
    said = _apply(row, draft, user)
    draft.updated_at = now
    if not _finish(row.id, attempt, draft.id, now):
        return None
    return lambda: _reply(openid, draft, said, new)


def process_inbox(limit: int = 50) -> int:
    """Job: handle stored messages in order (each claimed by one runner, for CLAIM_LEASE).

    A message that fails goes back to the queue (failed after MAX_ATTEMPTS, logged as an
    error); one failing message never stops the others."""
    from server.wechat.errors import WeChatError

    now = utcnow()
    _fail_abandoned(now)
    ids = list(
        db.session.execute(
            select(WeChatInbound.id).where(_claimable(now)).order_by(WeChatInbound.id).limit(limit)
        ).scalars()
    )
    db.session.rollback()
    done = 0
    for row_id in ids:
        row = _claim(row_id, utcnow())
        if row is None:
            continue
        attempt = row.attempts
        try:
            reply = _handle(row)
        except Exception as exc:
            if isinstance(exc, WeChatError):  # WeChat unavailable: the next run tries again
                log.warning("WeChat message inbox row %s, attempt %s: %s", row_id, attempt, exc)
            else:
                log.exception("WeChat message inbox row %s failed on attempt %s", row_id, attempt)
            db.session.rollback()
            _give_back(row_id, attempt, exc)
            if _is_job_timeout(exc):  # the job's time is up: stop here, the rest wait
                raise
            continue
        if reply is None:
            continue
        done += 1
        try:
            reply()
        except Exception as exc:  # the message is handled; only the answer is lost
            log.exception("reply to WeChat message inbox row %s failed", row_id)
            db.session.rollback()
            if _is_job_timeout(exc):
                raise
    return done


def on_account_cancelled(user: User) -> None:
    """Account cancellation (server/auth/cancellation.py): the user's WeChat messages keep
    what became of them (the report they made) but no longer say who sent them (the openid,
    in the row and in its payload); those not handled yet, or given up, never will be: done
    with nothing made (not `failed`, which `fengchao inbox retry --all-failed` would hand
    back to the job, and the job would make a new account of the anonymous sender). Their
    report follows are dropped: no more notices for an account nobody holds."""
    from server.reports.models import ReportFollower

    db.session.execute(ReportFollower.__table__.delete().where(ReportFollower.user_id == user.id))
    rows = db.session.execute(
        select(WeChatInbound).where(WeChatInbound.openid == user.openid)
    ).scalars()
    anonymous = f"deleted:{user.id}"
    for row in rows:
        row.openid = anonymous
        row.payload = {
            k: (anonymous if k == "FromUserName" else v) for k, v in (row.payload or {}).items()
        }
        if row.status in ("pending", "failed"):
            row.status, row.error = "done", "account cancelled"

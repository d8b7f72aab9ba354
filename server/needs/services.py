"""Needs and suggestions (问需): submit (content-checked), answer, list, export, monthly counts."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from server import csv_safe, pages
from server.activities import effects
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import SHANGHAI, isoformat, local, utcnow
from server.csv_safe import within_export_limit
from server.errors import Conflict, DomainError, NotFound
from server.extensions import db
from server.http import key_reused, paginate
from server.needs.models import KINDS, STATUSES, Need

log = logging.getLogger(__name__)
ANSWER_ROLE = "grid_worker"
EXPORT_MAX_ROWS = csv_safe.EXPORT_MAX_ROWS  # more: export.too_many_rows
NEED_REF = "need"


class NeedNotFound(NotFound):
    code = "need.not_found"
    message = "找不到该诉求，可能不在您管理的范围内，请刷新列表"


def check_text(openid: str, text: str) -> str:
    """pass | review | risky from WeChat's text check; `unchecked` when WeChat is down."""
    from server.wechat import get_client
    from server.wechat.api import msg_sec_check
    from server.wechat.errors import WeChatError

    try:
        result = msg_sec_check(get_client(), openid, text[:2500], scene=2)
    except WeChatError as exc:
        log.warning("msgSecCheck unavailable, need accepted unchecked: %s", exc)
        return "unchecked"
    suggest = result.get("suggest")
    return suggest if suggest in ("pass", "review", "risky") else "unchecked"


def submit_need(user: User, data: dict[str, Any], idempotency_key: str | None) -> tuple[Need, bool]:
    """Record a need in the submitter's community; (need, created). A replayed key returns it;
    the key of another need (other kind, words or photos) is refused: 409
    `idempotency.key_reused`."""
    if idempotency_key:
        existing = _by_key(user.id, idempotency_key)
        if existing is not None:
            return _replay(existing, data), False
    if user.community_id is None:
        raise DomainError(
            "need.not_registered", "请先在「我的」里完成社区报到，社区才能收到并答复您的诉求", 403
        )
    content = data["content"].strip()
    if len(content) < 5:
        raise DomainError("need.too_short", "请再多写几句，把困难或建议说清楚（至少5个字）", 422)
    flag = check_text(user.openid, content)
    if flag == "risky":
        raise DomainError("need.content_rejected", "内容未通过安全检查，请修改措辞后再提交", 422)
    need = Need(
        user_id=user.id,
        org_unit_id=user.community_id,
        kind=data["kind"],
        content=content,
        photo_ids=[],
        content_flag=flag,
        status="open",
        idempotency_key=idempotency_key,
    )
    db.session.add(need)
    try:
        db.session.flush()
        photo_ids = list(dict.fromkeys(data.get("photo_ids") or []))
        if photo_ids:
            from server.uploads.services import attach_uploads

            attach_uploads(user.id, photo_ids, NEED_REF, need.id)
            need.photo_ids = photo_ids
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _by_key(user.id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _replay(existing, data), False
    return need, True


def _replay(existing: Need, data: dict[str, Any]) -> Need:
    """The need a key recorded, for a retry of the same submission (compared as stored: the
    words stripped, the photos without repeats); a different one under that key is refused
    rather than answered with the first, which would tell the client its new need was sent."""
    same = (
        existing.kind == data["kind"]
        and existing.content == data["content"].strip()
        and list(existing.photo_ids or []) == list(dict.fromkeys(data.get("photo_ids") or []))
    )
    if not same:
        raise key_reused("诉求")
    return existing


def _by_key(user_id: int, key: str) -> Need | None:
    return db.session.execute(
        select(Need).where(Need.user_id == user_id, Need.idempotency_key == key)
    ).scalar_one_or_none()


def my_needs(user: User, args: dict[str, Any]) -> dict[str, Any]:
    """My needs, newest first, with answers."""
    stmt = select(Need).where(Need.user_id == user.id).order_by(Need.id.desc())
    page = paginate(stmt, args["page"], args["page_size"])
    return _with_photos(page, "owner")


def _with_photos(page: dict[str, Any], audience: str) -> dict[str, Any]:
    needs = page["items"]
    photos: dict[int, list] = {}
    if any(need.photo_ids for need in needs):
        from server.uploads.services import uploads_for
        from server.uploads.views import upload_view

        found = uploads_for(NEED_REF, [need.id for need in needs])
        photos = {key: [upload_view(u, audience) for u in value] for key, value in found.items()}
    for need in needs:
        need.photos = photos.get(need.id, [])
    return page


# ---- staff -------------------------------------------------------------------------------


def _staff_stmt(scope: Scope, args: dict[str, Any]) -> Select:
    from server.org.models import subtree_ids

    stmt = select(Need).where(scope.clause(Need.org_unit_id))
    if args.get("org_unit_id"):
        unit = scope.ensure(args["org_unit_id"])
        stmt = stmt.where(Need.org_unit_id.in_(subtree_ids(unit)))
    if args.get("status"):
        stmt = stmt.where(Need.status == args["status"])
    if args.get("kind"):
        stmt = stmt.where(Need.kind == args["kind"])
    if args.get("date_from"):
        stmt = stmt.where(Need.created_at >= _day_start(args["date_from"]))
    if args.get("date_to"):
        stmt = stmt.where(Need.created_at < _day_start(args["date_to"] + dt.timedelta(days=1)))
    return stmt


def _day_start(day: dt.date) -> dt.datetime:
    start = dt.datetime.combine(day, dt.time(), SHANGHAI)
    return start.astimezone(dt.UTC).replace(tzinfo=None)


def staff_needs(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    """Needs in my subtree, open ones first, then newest."""
    stmt = _staff_stmt(scope, args).order_by((Need.status == "answered").asc(), Need.id.desc())
    return _with_photos(paginate(stmt, args["page"], args["page_size"]), "staff")


def get_for_staff(scope: Scope, need_id: int) -> Need:
    """One need in my subtree (404 outside it)."""
    need = db.session.get(Need, need_id)
    if need is None:
        raise NeedNotFound()
    from server.org.models import OrgUnit

    if not scope.covers(db.session.get(OrgUnit, need.org_unit_id)):
        raise NeedNotFound()
    page = _with_photos({"items": [need]}, "staff")
    return page["items"][0]


def answer_need(scope: Scope, need_id: int, answer: str) -> Need:
    """Answer a need once; the submitter is notified."""
    need = get_for_staff(scope, need_id)
    scope.ensure(need.org_unit_id, ANSWER_ROLE)
    now = utcnow()
    from sqlalchemy import update

    changed = db.session.execute(
        update(Need)
        .where(Need.id == need.id, Need.status == "open")
        .values(
            status="answered", answer=answer.strip(), answered_by_id=scope.user.id, answered_at=now
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(need)
        if need.status == "withdrawn":
            raise Conflict("need.withdrawn", "提交人已注销账号，该诉求已撤回，无需答复")
        raise Conflict("need.already_answered", "该诉求已有答复，请刷新查看")
    effects.notify_user(
        need.user_id,
        "need_answered",
        title="您的诉求有答复了",
        body=f"您提交的「{need.kind_name}」诉求已答复：{answer.strip()[:60]}",
        page=pages.NEEDS,
        data={
            "kind": need.kind_name,
            "status": "已答复",
            "answer": answer.strip()[:20],
            "time": now,
        },
        dedupe_key=f"need_answered:{need.id}",
    )
    db.session.commit()
    db.session.refresh(need)
    return need


def on_account_cancelled(user: User) -> None:
    """Account cancellation (server/auth/cancellation.py): open needs are withdrawn (nobody
    is left to read an answer); answered ones are kept as the community's record. In the
    caller's transaction, conditional as answering is."""
    from sqlalchemy import update

    db.session.execute(
        update(Need)
        .where(Need.user_id == user.id, Need.status == "open")
        .values(status="withdrawn")
        .execution_options(synchronize_session=False)
    )


def export_rows(scope: Scope, args: dict[str, Any]) -> list[list[Any]]:
    """CSV rows of the needs in my subtree (filters as the list)."""
    from server.auth.models import User as Person
    from server.org.models import OrgUnit

    stmt = (
        _staff_stmt(scope, args)
        .add_columns(Person.display_name, Person.citizen_role, OrgUnit.name)
        .join(Person, Person.id == Need.user_id)
        .join(OrgUnit, OrgUnit.id == Need.org_unit_id)
        .order_by(Need.id)
        .limit(EXPORT_MAX_ROWS + 1)
    )
    rows = within_export_limit(db.session.execute(stmt).all(), EXPORT_MAX_ROWS)
    lines: list[list[Any]] = [
        ["编号", "提交时间", "社区", "提交人", "身份", "类别", "内容", "状态", "答复", "答复时间"]
    ]
    for need, name, role, unit_name in rows:
        lines.append(
            [
                need.id,
                isoformat(need.created_at),
                unit_name,
                name or "",
                "骑手" if role == "rider" else "居民",
                need.kind_name,
                need.content,
                STATUSES.get(need.status, need.status),
                need.answer or "",
                isoformat(need.answered_at) or "",
            ]
        )
    return lines


def monthly_counts(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    """Counts by kind per Shanghai month, for the statistics."""
    stmt = _staff_stmt(scope, args).with_only_columns(Need.created_at, Need.kind, Need.status)
    months: dict[str, dict[str, Any]] = {}
    for created_at, kind, status in db.session.execute(stmt):
        key = local(created_at).strftime("%Y-%m")
        bucket = months.setdefault(
            key, {"month": key, "total": 0, "answered": 0, "by_kind": dict.fromkeys(KINDS, 0)}
        )
        bucket["total"] += 1
        bucket["answered"] += status == "answered"
        bucket["by_kind"][kind] = bucket["by_kind"].get(kind, 0) + 1
    return {
        "kinds": [{"code": code, "name": name} for code, name in KINDS.items()],
        "months": [months[key] for key in sorted(months)],
    }


def get_own(need: Need) -> Need:
    """A need as its submitter sees it (with photos)."""
    return _with_photos({"items": [need]}, "owner")["items"][0]

"""Governance posts: the community's list, claims by registered riders, staff decisions."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from server import pages
from server.activities import effects
from server.activities.locks import lock_row
from server.auth.guards import Scope
from server.auth.models import User
from server.clock import utcnow
from server.errors import Conflict, DomainError, NotFound
from server.extensions import db
from server.http import paginate
from server.org.models import OrgUnit, subtree_ids
from server.posts.models import LIVE_CLAIM_STATUSES, Post, PostClaim

MANAGER_ROLE = "community_admin"
DEFAULT_MAX_POSTS_PER_RIDER = 2

# The five posts every community starts with (name, description, capacity, duty points).
DEFAULT_POSTS = [
    (
        "流动网格员",
        "跑单途中留意网格内的安全隐患、环境问题，随手拍、及时报，当好“移动探头”。",
        10,
        10,
    ),
    ("文明倡导员", "宣传文明交通、文明用语，劝导乱停乱放，带头做文明骑手。", 8, 8),
    ("安全巡查员", "巡查电动车充电、私拉电线、消防通道堵塞等隐患，发现后上报社区。", 8, 10),
    ("矛盾调解员", "协助社区化解邻里、商户与骑手之间的小矛盾，大事及时报告。", 4, 12),
    ("助老服务员", "为独居老人代购送药、上门探访，帮助老人使用手机与智能设备。", 6, 10),
]


class PostNotFound(NotFound):
    code = "post.not_found"
    message = "找不到该岗位，可能已下线，请刷新岗位列表"


class ClaimNotFound(NotFound):
    code = "post_claim.not_found"
    message = "找不到该岗位申请，请刷新后重试"


def max_posts_per_rider() -> int:
    return int(current_app.config.get("POSTS_MAX_PER_RIDER", DEFAULT_MAX_POSTS_PER_RIDER))


def seed_default_posts(community: OrgUnit) -> list[Post]:
    """Create the five standard posts in a community (those missing); flush, no commit."""
    existing = set(
        db.session.execute(select(Post.name).where(Post.org_unit_id == community.id)).scalars()
    )
    created = []
    for sort, (name, description, capacity, points) in enumerate(DEFAULT_POSTS):
        if name in existing:
            continue
        post = Post(
            org_unit_id=community.id,
            name=name,
            description=description,
            capacity=capacity,
            duty_points=points,
            sort=sort,
        )
        db.session.add(post)
        created.append(post)
    db.session.flush()
    return created


# ---- riders ------------------------------------------------------------------------------


def list_posts(user: User | None, community_id: int | None) -> Select:
    """Active posts of a community (the caller's own by default)."""
    community_id = community_id or (user.community_id if user else None)
    if community_id is None:
        raise DomainError("post.community_required", "请先完成社区报到，或选择要查看的社区", 422)
    return (
        select(Post)
        .where(Post.org_unit_id == community_id, Post.is_active.is_(True))
        .order_by(Post.sort, Post.id)
    )


def with_my_claims(user: User | None, posts: list[Post]) -> list[Post]:
    """Attach `my_claim` (the caller's live claim, if any) to each post."""
    mine: dict[int, PostClaim] = {}
    if user is not None and posts:
        claims = db.session.execute(
            select(PostClaim).where(
                PostClaim.user_id == user.id,
                PostClaim.post_id.in_([post.id for post in posts]),
                PostClaim.status.in_(LIVE_CLAIM_STATUSES),
            )
        ).scalars()
        mine = {claim.post_id: claim for claim in claims}
    for post in posts:
        post.my_claim = mine.get(post.id)
    return posts


def _live_claims(user_id: int) -> int:
    return db.session.execute(
        select(func.count()).where(
            PostClaim.user_id == user_id, PostClaim.status.in_(LIVE_CLAIM_STATUSES)
        )
    ).scalar_one()


def claim_post(user: User, post_id: int, note: str | None) -> PostClaim:
    """Apply for a post in my community; staff approve. At most N posts per rider."""
    post = lock_row(Post, post_id, "holder_count", PostNotFound())
    if not post.is_active:
        raise PostNotFound()
    if user.citizen_role != "rider":
        raise DomainError(
            "post.riders_only", "治理岗位仅面向骑手认领，请先在「我的」中选择骑手身份", 403
        )
    if user.community_id is None:
        raise DomainError("post.not_registered", "请先在「我的」里完成社区报到，再认领岗位", 403)
    if user.community_id != post.org_unit_id:
        raise DomainError(
            "post.other_community", "只能认领您报到社区的岗位；如已换社区，请先重新报到", 403
        )
    # Serialise one person's claims (different posts lock different rows).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = db.session.execute(
        select(PostClaim).where(
            PostClaim.post_id == post.id,
            PostClaim.user_id == user.id,
            PostClaim.status.in_(LIVE_CLAIM_STATUSES),
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise Conflict(
            "post.already_claimed",
            "您已申请或正在担任该岗位，无需重复申请",
            details={"claim_id": existing.id, "status": existing.status},
        )
    limit = max_posts_per_rider()
    if _live_claims(user.id) >= limit:
        raise Conflict(
            "post.claim_limit",
            f"每人最多同时担任 {limit} 个岗位（含待审核），请先撤回申请或联系社区离岗后再申请",
            details={"limit": limit},
        )
    if post.holder_count >= post.capacity:
        raise Conflict("post.full", "该岗位人数已满，请看看其他岗位")
    claim = PostClaim(post_id=post.id, user_id=user.id, status="pending", note=note)
    db.session.add(claim)
    db.session.commit()
    return claim


def my_claims(user: User) -> Select:
    return (
        select(PostClaim)
        .where(PostClaim.user_id == user.id)
        .order_by(PostClaim.created_at.desc(), PostClaim.id.desc())
    )


def withdraw_claim(user: User, claim_id: int) -> PostClaim:
    """Withdraw my pending claim.

    Under the post's lock, as the staff's decisions are, with the claim read again after
    taking it: a decision committed meanwhile is seen (409), never overwritten (an approval
    overwritten would leave the post counting a holder it no longer has).
    """
    claim = db.session.get(PostClaim, claim_id)
    if claim is None or claim.user_id != user.id:
        raise ClaimNotFound()
    lock_row(Post, claim.post_id, "holder_count", ClaimNotFound())
    db.session.refresh(claim)
    if claim.status != "pending":
        raise Conflict("post_claim.not_pending", "只能撤回待审核的申请；在岗请联系社区办理离岗")
    claim.status = "withdrawn"
    claim.ended_at = utcnow()
    db.session.commit()
    return claim


# ---- staff -------------------------------------------------------------------------------


def staff_posts(scope: Scope, org_unit_id: int | None) -> Select:
    stmt = select(Post).where(scope.clause(Post.org_unit_id))
    if org_unit_id:
        stmt = stmt.where(Post.org_unit_id.in_(subtree_ids(scope.ensure(org_unit_id))))
    return stmt.order_by(Post.org_unit_id, Post.sort, Post.id)


def _name_taken(name: str) -> Conflict:
    return Conflict("post.name_taken", f"本社区已有「{name}」岗位，请换个名称")


def _check_name(unit_id: int, name: str, post_id: int | None = None) -> None:
    other = select(Post.id).where(Post.org_unit_id == unit_id, Post.name == name)
    if post_id is not None:
        other = other.where(Post.id != post_id)
    if db.session.execute(other).first():
        raise _name_taken(name)


def _commit_named(name: str) -> None:
    """Commit; the unique (community, name) decides a race the check above let through
    (two staff saving the same new name at once, a double tap on 保存)."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _name_taken(name) from None


def create_post(scope: Scope, data: dict[str, Any]) -> Post:
    """Add a post to a community in my subtree."""
    unit = scope.ensure(data["org_unit_id"], MANAGER_ROLE)
    if unit.level != "community":
        raise DomainError("post.community_only", "岗位需设在社区一级，请选择社区", 422)
    _check_name(unit.id, data["name"])
    post = Post(**data)
    db.session.add(post)
    _commit_named(data["name"])
    return post


def update_post(scope: Scope, post_id: int, data: dict[str, Any]) -> Post:
    """Edit a post (capacity never below the current holders)."""
    post = db.session.get(Post, post_id)
    if post is None or not scope.covers(post.org_unit):
        raise PostNotFound()
    scope.ensure(post.org_unit, MANAGER_ROLE)
    post = lock_row(Post, post_id, "holder_count", PostNotFound())
    if "capacity" in data and data["capacity"] < post.holder_count:
        raise Conflict(
            "post.capacity_below_holders",
            f"该岗位现有 {post.holder_count} 人在岗，人数上限不能低于在岗人数",
        )
    if "name" in data:
        _check_name(post.org_unit_id, data["name"], post.id)
    for key, value in data.items():
        setattr(post, key, value)
    _commit_named(post.name)
    return post


def staff_claims(scope: Scope, status: str | None, post_id: int | None) -> Select:
    stmt = (
        select(PostClaim)
        .join(Post, Post.id == PostClaim.post_id)
        .where(scope.clause(Post.org_unit_id))
    )
    if status:
        stmt = stmt.where(PostClaim.status == status)
    if post_id:
        stmt = stmt.where(PostClaim.post_id == post_id)
    return stmt.order_by(PostClaim.created_at, PostClaim.id)


def _claim_for_staff(scope: Scope, claim_id: int) -> PostClaim:
    claim = db.session.get(PostClaim, claim_id)
    if claim is None or not scope.covers(claim.post.org_unit):
        raise ClaimNotFound()
    scope.ensure(claim.post.org_unit, MANAGER_ROLE)
    return claim


def _tell(claim: PostClaim, post: Post, outcome: str, body: str) -> None:
    effects.notify_user(
        claim.user_id,
        "post_claim_decided",
        title=f"岗位申请{outcome}",
        body=body,
        page=pages.POSTS,
        data={"post": post.name, "status": outcome, "reason": claim.decision_note or ""},
        dedupe_key=f"post_claim:{claim.id}:{claim.status}",
    )


def approve_claim(scope: Scope, claim_id: int, note: str | None) -> PostClaim:
    """Approve a pending claim if the post has room."""
    claim = _claim_for_staff(scope, claim_id)
    post = lock_row(Post, claim.post_id, "holder_count", PostNotFound())
    db.session.refresh(claim)
    if claim.status != "pending":
        raise Conflict("post_claim.not_pending", "该申请已处理过，请刷新列表")
    if not post.is_active:
        raise Conflict(
            "post_claim.post_inactive", "该岗位已停用，不能再通过申请；如需启用请先编辑岗位"
        )
    if claim.user_id == scope.user.id:
        # as attendance: a grant to oneself needs a second person
        raise DomainError(
            "post_claim.self_approval", "不能审批自己的岗位申请，请由社区其他工作人员审批", 403
        )
    claimant = db.session.get(User, claim.user_id)
    if claimant.community_id != post.org_unit_id or claimant.citizen_role != "rider":
        raise Conflict(
            "post_claim.claimant_moved",
            "申请人已不是本社区报到的骑手（已换社区或身份），无法通过；可驳回该申请",
        )
    if post.holder_count >= post.capacity:
        raise Conflict("post_claim.post_full", "该岗位人数已满：请先调整人数上限或让在岗人员离岗")
    claim.status = "approved"
    claim.decided_by_id = scope.user.id
    claim.decided_at = utcnow()
    claim.decision_note = note
    post.holder_count += 1
    _tell(
        claim, post, "已通过", f"您已成为{post.org_unit.name}的「{post.name}」，感谢您参与社区治理"
    )
    db.session.commit()
    return claim


def decline_claim(scope: Scope, claim_id: int, note: str | None) -> PostClaim:
    """Decline a pending claim, with a reason for the rider."""
    claim = _claim_for_staff(scope, claim_id)
    lock_row(Post, claim.post_id, "holder_count", PostNotFound())
    db.session.refresh(claim)
    if claim.status != "pending":
        raise Conflict("post_claim.not_pending", "该申请已处理过，请刷新列表")
    claim.status = "declined"
    claim.decided_by_id = scope.user.id
    claim.decided_at = utcnow()
    claim.decision_note = note
    _tell(
        claim,
        claim.post,
        "未通过",
        f"您申请的「{claim.post.name}」未通过：{note or '请联系社区了解详情'}",
    )
    db.session.commit()
    return claim


def end_claim(scope: Scope, claim_id: int, note: str | None) -> PostClaim:
    """End an approved claim (the rider leaves the post)."""
    claim = _claim_for_staff(scope, claim_id)
    post = lock_row(Post, claim.post_id, "holder_count", PostNotFound())
    db.session.refresh(claim)
    if claim.status != "approved":
        raise Conflict("post_claim.not_active", "只有在岗的岗位可以办理离岗，请刷新列表")
    claim.status = "ended"
    claim.ended_at = utcnow()
    claim.decision_note = note or claim.decision_note
    post.holder_count -= 1
    _tell(claim, post, "已离岗", f"您已卸任「{post.name}」，感谢您的付出")
    db.session.commit()
    return claim


def release_claims_elsewhere(
    user_id: int, community_id: int | None, note: str = "已换社区报到，自动离岗"
) -> int:
    """A rider who moved to another community (or left theirs) can no longer serve the old
    one's posts: their pending claims there are withdrawn and their posts left (the places
    go back to the community, and they no longer count against the rider's limit in the
    new one). In the caller's transaction (PATCH /me); under each post's lock, as the staff's
    decisions are. Returns how many claims ended."""
    stmt = (
        select(PostClaim)
        .join(Post, Post.id == PostClaim.post_id)
        .where(PostClaim.user_id == user_id, PostClaim.status.in_(LIVE_CLAIM_STATUSES))
        .order_by(PostClaim.post_id)  # one lock order for every caller
    )
    if community_id is not None:
        stmt = stmt.where(Post.org_unit_id != community_id)
    claims = db.session.execute(stmt).scalars()
    ended = 0
    for claim in list(claims):
        post = lock_row(Post, claim.post_id, "holder_count", PostNotFound())
        db.session.refresh(claim)
        now = utcnow()
        if claim.status == "pending":
            claim.status, claim.ended_at = "withdrawn", now
        elif claim.status == "approved":
            claim.status, claim.ended_at = "ended", now
            claim.decision_note = note
            post.holder_count -= 1
        else:
            continue
        ended += 1
    return ended


def on_account_cancelled(user: User) -> None:
    """Account cancellation (server/auth/cancellation.py): every live claim ends (pending
    withdrawn, posts held left), in the caller's transaction."""
    release_claims_elsewhere(user.id, None, note="账号已注销，自动离岗")


def award_duty(user_id: int, *, source_type: str, source_id: int | str, reason: str) -> Any:
    """Duty points for a rider holding a post (e.g. an accepted clue); in the caller's
    transaction. None when the rider holds no post or the source was already awarded."""
    claim = db.session.execute(
        select(PostClaim)
        .where(PostClaim.user_id == user_id, PostClaim.status == "approved")
        .order_by(PostClaim.decided_at)
        .limit(1)
    ).scalar_one_or_none()
    if claim is None:
        return None
    return effects.award(
        user_id,
        claim.post.duty_points,
        reason=f"{claim.post.name}履职：{reason}",
        source_type=source_type,
        source_id=source_id,
        org_unit_id=claim.post.org_unit_id,
        rule=effects.POST_DUTY_RULE,
    )


# ---- pages -------------------------------------------------------------------------------


def post_page(user: User | None, args: dict[str, Any]) -> dict[str, Any]:
    page = paginate(list_posts(user, args.get("community_id")), args["page"], args["page_size"])
    page["items"] = with_my_claims(user, page["items"])
    return page


def my_claim_page(user: User, args: dict[str, Any]) -> dict[str, Any]:
    return paginate(my_claims(user), args["page"], args["page_size"])


def staff_post_page(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    page = paginate(staff_posts(scope, args.get("org_unit_id")), args["page"], args["page_size"])
    page["items"] = with_my_claims(None, page["items"])
    return page


def staff_claim_page(scope: Scope, args: dict[str, Any]) -> dict[str, Any]:
    stmt = staff_claims(scope, args.get("status"), args.get("post_id"))
    return paginate(stmt, args["page"], args["page_size"])

"""Login with WeChat, profile, phone binding, logout."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server import wechat
from server.auth.crypto import encrypt, mask_phone
from server.auth.models import CITIZEN_ROLES, PLATFORMS, User
from server.auth.tokens import issue_token
from server.clock import utcnow
from server.errors import DomainError, Forbidden, ServiceUnavailable, Unauthorized
from server.extensions import db
from server.org.models import ROLE_NAMES, OrgUnit
from server.wechat.errors import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

# Other domains add fields to GET /me (e.g. the unread notification count).
me_extras: list[Callable[[User], dict[str, Any]]] = []

INVALID_CODE_ERRCODES = {40029, 40163, 40013, 40125}


def _wechat_call(func, *args):
    try:
        return func(wechat.get_client(), *args)
    except WeChatUnavailable as exc:
        log.warning("wechat unavailable: errcode=%s", exc.errcode)
        raise ServiceUnavailable(
            "wechat.unavailable", "微信服务暂时无法连接，请稍后重试", 503
        ) from None


def login_with_code(code: str) -> dict[str, Any]:
    """Exchange a wx.login code for our own token; create the user on first login."""
    from server.wechat import api as wx

    try:
        session = _wechat_call(wx.code_to_session, code)
    except WeChatError as exc:
        if exc.errcode in INVALID_CODE_ERRCODES:
            raise Unauthorized(
                "auth.invalid_code", "登录凭证无效或已使用，请重新打开小程序再试"
            ) from None
        if exc.errcode == 40226:
            raise DomainError(
                "auth.user_blocked", "该微信账号存在风险，暂时无法登录", 403
            ) from None
        log.warning("code2session refused: errcode=%s", exc.errcode)
        raise ServiceUnavailable("wechat.unavailable", "微信登录暂时不可用，请稍后重试") from None

    openid = session["openid"]
    user = db.session.execute(select(User).where(User.openid == openid)).scalar_one_or_none()
    if user is not None and not user.is_active:  # refused before anything is changed
        log.info("login refused: user_id=%s is deactivated", user.id)
        raise Forbidden("auth.account_disabled", "该账号已停用，如有疑问请联系社区工作人员")
    is_new = user is None
    if is_new:
        user = User(openid=openid)
        db.session.add(user)
    if session.get("unionid"):
        user.unionid = session["unionid"]
    if session.get("session_key"):
        user.session_key_enc = encrypt(session["session_key"])
    user.last_login_at = utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # the same new user logging in twice at once
        db.session.rollback()
        user = db.session.execute(select(User).where(User.openid == openid)).scalar_one()
        is_new = False
    token, expires_at = issue_token(user.id, user.token_version)
    log.info("login user_id=%s new=%s", user.id, is_new)
    return {"token": token, "expires_at": expires_at, "is_new": is_new, "user": user}


def logout(user: User) -> None:
    """Revoke every token the user holds."""
    user.token_version += 1
    db.session.commit()


def update_profile(user: User, changes: dict[str, Any]) -> User:
    """Apply a PATCH /me (already validated in shape by the schema)."""
    if "role" in changes:
        role = changes["role"]
        if role not in CITIZEN_ROLES:
            raise DomainError("me.invalid_role", "身份只能选择骑手/快递员或居民", 422)
        user.citizen_role = role
    if "platform" in changes:
        platform = changes["platform"]
        if platform is not None and platform not in PLATFORMS:
            raise DomainError("me.invalid_platform", "请选择正确的配送平台", 422)
        user.platform = platform
    if "community_id" in changes:
        community_id = changes["community_id"]
        before = user.community_id
        if community_id is None:
            user.community_id = None
            user.registered_at = None
        else:
            unit = db.session.get(OrgUnit, community_id)
            if unit is None or unit.level != "community":
                raise DomainError("me.invalid_community", "请选择一个社区进行报到", 422)
            if user.community_id != unit.id:
                user.community_id = unit.id
                user.registered_at = utcnow()
        if user.community_id != before:  # ranked in the new community from the commit on
            from server.points import rankings
            from server.posts.services import release_claims_elsewhere

            rankings.after_commit_move(user.id, before, user.community_id)
            # the posts' locks before the user row's (this user's UPDATE waits for the
            # commit), the order claiming a post takes them in
            with db.session.no_autoflush:
                release_claims_elsewhere(user.id, user.community_id)
    if changes.get("display_name"):
        _refuse_staff_title(user, changes["display_name"])
    for field in ("display_name", "avatar_url", "is_party_member"):
        if field in changes:
            setattr(user, field, changes[field])
    db.session.commit()
    return user


# Words that make a name read as the street's staff or the service itself.
STAFF_TITLES = (*ROLE_NAMES.values(), "工作人员", "管理员", "指挥中心", "官方", "客服")


def _refuse_staff_title(user: User, name: str) -> None:
    """A citizen's name is shown to other citizens (a report's public view, needs,
    rankings): it may not pass for staff. Staff may use their titles."""
    from server.auth.guards import active_binding

    plain = "".join(unicodedata.normalize("NFKC", name).split())
    if any(title in plain for title in STAFF_TITLES) and active_binding(user) is None:
        raise DomainError(
            "me.reserved_name",
            "名称不能使用工作人员或官方的称呼（如「网格员」「管理员」），请换一个",
            422,
        )


def bind_phone(user: User, code: str) -> str:
    """Get the user's phone number from WeChat; store it encrypted, return it masked."""
    from server.wechat import api as wx

    try:
        info = _wechat_call(wx.get_phone_number, code)
    except WeChatError as exc:
        if exc.errcode in INVALID_CODE_ERRCODES:
            raise DomainError(
                "phone.invalid_code", "手机号授权已失效，请重新点击获取手机号", 400
            ) from None
        log.warning("getuserphonenumber refused: errcode=%s", exc.errcode)
        raise ServiceUnavailable("wechat.unavailable", "暂时无法获取手机号，请稍后重试") from None
    phone = info.get("purePhoneNumber") or info.get("phoneNumber") or ""
    if not phone:
        raise ServiceUnavailable("wechat.unavailable", "暂时无法获取手机号，请稍后重试")
    user.phone_enc = encrypt(phone)
    user.phone_masked = mask_phone(phone)
    db.session.commit()
    return user.phone_masked

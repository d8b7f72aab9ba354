"""Login, logout and the caller's own profile."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from server.auth import cancellation, services
from server.auth.guards import active_binding, current_user, login_required
from server.auth.models import User
from server.auth.schemas import (
    CancelAccountSchema,
    LoginResultSchema,
    LoginSchema,
    MePatchSchema,
    MeSchema,
    PhoneCodeSchema,
    PhoneResultSchema,
)
from server.extensions import limiter
from server.http import error_responses
from server.ops.limits import rate_limit

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="登录与个人信息")


def user_view(user: User) -> dict:
    """The user as the client sees it: effective role and staff binding."""
    from server.org.views import staff_view

    binding = active_binding(user)
    staff = staff_view(binding) if binding is not None else None
    data = {
        c: getattr(user, c)
        for c in (
            "id",
            "citizen_role",
            "display_name",
            "avatar_url",
            "platform",
            "community_id",
            "registered_at",
            "is_party_member",
            "phone_masked",
        )
    }
    data["role"] = binding.role if binding else user.citizen_role
    data["staff"] = staff
    return data


@blp.route("/auth/wechat-login")
class WeChatLogin(MethodView):
    @limiter.limit(rate_limit("LOGIN"))  # per client address (RATE_LIMIT_LOGIN)
    @blp.arguments(LoginSchema)
    @blp.response(200, LoginResultSchema)
    @error_responses(401, 403, 429, 503)
    def post(self, body):
        """Exchange a wx.login code for a Fengchao token."""
        result = services.login_with_code(body["code"])
        result["user"] = user_view(result["user"])
        return result


@blp.route("/auth/logout")
class Logout(MethodView):
    @login_required
    @blp.response(204)
    def post(self):
        """Revoke every token of the caller."""
        services.logout(current_user())


@blp.route("/me")
class Me(MethodView):
    @login_required
    @blp.response(200, MeSchema)
    def get(self):
        """The caller's profile."""
        user = current_user()
        data = user_view(user)
        data["extras"] = {}
        for extra in services.me_extras:
            data["extras"].update(extra(user))
        return data

    @login_required
    @blp.arguments(MePatchSchema)
    @blp.response(200, MeSchema)
    def patch(self, changes):
        """Change display name, avatar, citizen role, platform, home community (社区报到).

        A display name is shown to other users: blanks and invisible characters around it
        are dropped, control and format characters inside refused (422), and a citizen's may
        not read as staff (422 `me.reserved_name`: 网格员, 管理员, 官方…). A new home
        community ends the caller's governance-post claims in the old one (pending ones
        withdrawn, posts held left)."""
        user = services.update_profile(current_user(), changes)
        return {**user_view(user), "extras": {}}


@blp.route("/me/phone")
class MyPhone(MethodView):
    @login_required
    @limiter.limit(rate_limit("PHONE"))  # per user (RATE_LIMIT_PHONE): WeChat bills lookups
    @blp.arguments(PhoneCodeSchema)
    @blp.response(200, PhoneResultSchema)
    @error_responses(429)
    def post(self, body):
        """Bind the phone number from a getPhoneNumber code; answered masked."""
        return {"phone": services.bind_phone(current_user(), body["code"])}

    @login_required
    @blp.response(204)
    def delete(self):
        """Unbind the phone number: both stored copies cleared (204 also when none was bound)."""
        cancellation.forget_phone(current_user())


@blp.route("/me/cancel")
class CancelAccount(MethodView):
    @login_required
    @blp.arguments(CancelAccountSchema)
    @blp.response(204)
    @error_responses(409)
    def post(self, body):
        """Cancel my account (注销账号) for good: body `{"confirm": "注销"}` (else 422
        `account.confirm_required`, nothing changed).

        One transaction: activities not started yet are withdrawn (the waitlist moves up),
        governance-post claims end, open needs are withdrawn, pending vouchers are cancelled
        (points and stock back), the remaining points are forfeited (one ledger entry 账号注销),
        notifications and subscriptions are deleted, photos never attached are deleted, and the
        profile is erased (phone, name → 已注销用户, avatar, WeChat identity, community). Reports,
        check-ins, attendance and the ledger are kept, anonymous. Every token is revoked: a
        retry after a lost answer gets 401 `auth.token_revoked`, meaning it was done. The
        same WeChat user logging in later gets a new, empty account.

        409 `account.staff_bound` while the caller holds a staff binding (their superior
        unbinds them first)."""
        cancellation.cancel_account(current_user(), body["confirm"])

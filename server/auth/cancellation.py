"""Account cancellation (注销账号, PIPL art. 47) and forgetting the phone number.

Cancelling is one transaction. Each domain lets go of the user through its own services,
called through the `server.ACCOUNT_CANCELLED` registry (this module imports none of them):
future enrolments withdrawn, post claims released, open needs withdrawn, pending vouchers
cancelled with points and stock refunded, the rest of the balance forfeited by one
compensating ledger entry, the WeChat inbox anonymised, unattached photos deleted, the
user's notifications and subscription credits deleted. Then the user's row, locked last
(after the activities', posts' and points account's locks, the order their own services take
them in), loses its personal data: the openid becomes a tombstone no WeChat login can match
(the same WeChat user logging in again gets a new, empty account), the name reads
已注销用户, phone, avatar, unionid, platform and community are cleared, the token version
moves on and the account is inactive. What is kept points to that anonymous row: reports
and their timelines, check-ins, attendance, the ledger.

A retry after a lost answer is sent with a token the first call revoked: 401
`auth.token_revoked` (the mini-program takes it, after a lost answer, as done). Two calls at
once: the second waits on the locks and finds nothing left to do.
"""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Callable

from sqlalchemy import select

from server.auth.models import User
from server.clock import utcnow
from server.errors import Conflict, DomainError
from server.extensions import db
from server.org.models import StaffBinding

log = logging.getLogger(__name__)

CONFIRM_WORD = "注销"
CANCELLED_NAME = "已注销用户"


def forget_phone(user: User) -> None:
    """Unbind the phone number (encrypted and masked copies); nothing bound is no error."""
    if user.phone_enc is None and user.phone_masked is None:
        return
    user.phone_enc = None
    user.phone_masked = None
    db.session.commit()
    log.info("phone unbound user_id=%s", user.id)


def _hooks() -> list[Callable[[User], Callable[[], None] | None]]:
    from server import ACCOUNT_CANCELLED

    found = []
    for name in ACCOUNT_CANCELLED:
        module, _, attribute = name.rpartition(".")
        found.append(getattr(importlib.import_module(module), attribute))
    return found


def _staff_bound(user_id: int) -> bool:
    return (
        db.session.execute(
            select(StaffBinding.id).where(
                StaffBinding.user_id == user_id, StaffBinding.revoked_at.is_(None)
            )
        ).first()
        is not None
    )


def _staff_refusal() -> Conflict:
    return Conflict(
        "account.staff_bound",
        "您当前绑定了工作人员身份，请先由上级工作人员解除绑定，再注销账号",
    )


def cancel_account(user: User, confirm: str) -> None:
    """Cancel the caller's account: let every domain go of it, erase the personal data."""
    if (confirm or "").strip() != CONFIRM_WORD:
        raise DomainError(
            "account.confirm_required", f"请输入「{CONFIRM_WORD}」以确认注销账号", 422
        )
    user_id = user.id
    if user.cancelled_at is not None:
        return
    if _staff_bound(user_id):
        raise _staff_refusal()
    after_commit = []
    for hook in _hooks():
        action = hook(user)
        if action is not None:
            after_commit.append(action)
    # The user's row last, read again under its lock: a cancellation that committed while
    # this one waited has done everything already.
    row = db.session.execute(
        select(User)
        .where(User.id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    if row.cancelled_at is not None:
        db.session.rollback()
        return
    if _staff_bound(user_id):  # bound meanwhile (an invitation redeemed at that moment)
        db.session.rollback()
        raise _staff_refusal()
    _erase(row)
    db.session.commit()
    for action in after_commit:
        try:
            action()
        except Exception:  # the cancellation stands; what is left is logged
            log.exception("after account cancellation user_id=%s", user_id)
    log.info("account cancelled user_id=%s", user_id)


def _erase(user: User) -> None:
    """The row's personal data, replaced or cleared (the write-through of `principal`
    replaces its Redis record with the revoked one when this commits)."""
    user.openid = f"deleted:{user.id}:{secrets.token_hex(8)}"  # ':' is in no WeChat openid
    user.unionid = None
    user.session_key_enc = None
    user.display_name = CANCELLED_NAME
    user.avatar_url = None
    user.platform = None
    user.community_id = None
    user.registered_at = None
    user.is_party_member = False
    user.phone_enc = None
    user.phone_masked = None
    user.last_login_at = None
    user.is_active = False
    user.token_version += 1
    user.cancelled_at = utcnow()

"""Account cancellation (注销账号, POST /me/cancel) and unbinding the phone (DELETE /me/phone)."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from server import clock
from server.auth.models import User
from server.extensions import db as _db
from server.points.models import LedgerEntry, Redemption, Reward
from server.stations.services import scene_of
from tests.conftest import login_code
from tests.factories import give_points, make_reward, make_station
from tests.hardening.helpers import file_report, future_activity, upload_photo

CANCEL = "/api/v1/me/cancel"
CONFIRM = {"confirm": "注销"}


def _cancel(client, auth, body=CONFIRM):
    return client.post(CANCEL, json=body, headers=auth)


def _balance(user_id: int) -> int:
    from server.points.services import balance_of

    return balance_of(user_id)


# ----------------------------------------------------------------------------- phone


def test_unbind_phone_clears_both_copies_and_is_idempotent(client, login, db, caplog):
    auth = login("rider")
    bound = client.post(
        "/api/v1/me/phone", json={"code": "sandbox-phone:13812345678:u1"}, headers=auth
    )
    assert bound.status_code == 200
    assert client.get("/api/v1/me", headers=auth).get_json()["phone"] == "138****5678"
    caplog.set_level(logging.INFO)
    response = client.delete("/api/v1/me/phone", headers=auth)
    assert response.status_code == 204
    user = db.session.get(User, auth.user_id)
    db.session.refresh(user)
    assert (user.phone_enc, user.phone_masked) == (None, None)
    assert client.get("/api/v1/me", headers=auth).get_json()["phone"] is None
    assert client.delete("/api/v1/me/phone", headers=auth).status_code == 204  # none: still 204
    assert "13812345678" not in caplog.text and "5678" not in caplog.text
    assert client.delete("/api/v1/me/phone").status_code == 401


# ---------------------------------------------------------------------- refusals


def test_cancel_needs_the_confirmation_word(client, login, db):
    auth = login("rider")
    for body in ({"confirm": "确定"}, {"confirm": ""}):
        response = _cancel(client, auth, body)
        assert response.status_code == 422
        assert response.get_json()["code"] == "account.confirm_required"
        assert "注销" in response.get_json()["message"]
    assert _cancel(client, auth, {}).status_code == 422  # no field: the schema refuses
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    assert db.session.get(User, auth.user_id).cancelled_at is None


def test_staff_are_refused_until_unbound(client, login, db):
    from server.org.models import StaffBinding

    worker = login("grid_worker", "A1")
    response = _cancel(client, worker)
    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "account.staff_bound"
    assert "解除绑定" in body["message"]
    user = db.session.get(User, worker.user_id)
    assert user.is_active and user.cancelled_at is None
    # their superior unbinds them (server/org); then they may leave
    binding = db.session.execute(
        select(StaffBinding).where(StaffBinding.user_id == worker.user_id)
    ).scalar_one()
    binding.revoked_at = clock.utcnow()
    db.session.commit()
    assert _cancel(client, worker).status_code == 204


# ------------------------------------------------------------------- the effects


def _rank_names(client, auth) -> list[str]:
    response = client.get("/api/v1/rankings?scope=community&period=month", headers=auth)
    assert response.status_code == 200, response.get_json()
    return [item["display_name"] for item in response.get_json()["items"]]


def test_cancellation_lets_go_of_everything_and_keeps_the_records(
    app, client, login, units, db, redis, sandbox, caplog, verify_ledger_cli
):
    from server.activities.models import Activity, Enrolment
    from server.auth import principal
    from server.needs.models import Need
    from server.notifications.models import Notification, SubscriptionCredit
    from server.notifications.services import add_accept
    from server.posts.models import Post, PostClaim
    from server.posts.services import seed_default_posts
    from server.reports.models import Report, ReportFollower, WeChatInbound
    from server.stations.models import CheckIn
    from server.uploads.models import Upload

    rider = login("rider", display_name="张三丰")
    other = login("rider", display_name="李四")
    uid = rider.user_id
    client.post("/api/v1/me/phone", json={"code": "sandbox-phone:13900001234:c1"}, headers=rider)

    # points: a check-in, a pending voucher, the rest of the balance
    station = make_station(units["A"])
    scan = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    assert client.post("/api/v1/checkins", json=scan, headers=rider).status_code == 201
    give_points(uid, 100)
    give_points(other.user_id, 3, source_id="other")
    reward = make_reward(units["A"], cost=30, stock=5)
    reward_id = reward.id
    made = client.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider)
    assert made.status_code == 201
    assert _balance(uid) == 75
    assert _rank_names(client, other)[0] == "张**"

    # an activity next week, full: the rider has the place, the other waits
    activity = future_activity(units["A"], capacity=1)
    activity_id = activity.id
    for who in (rider, other):
        r = client.post(f"/api/v1/activities/{activity_id}/enrolments", headers=who)
        assert r.status_code in (200, 201), r.get_json()

    # governance posts: one pending claim, one held
    posts = seed_default_posts(db.session.get(type(units["A"]), units["A"].id))
    db.session.commit()
    pending_post, held_post = posts[0].id, posts[1].id
    for post_id in (pending_post, held_post):
        r = client.post(f"/api/v1/posts/{post_id}/claims", json={}, headers=rider)
        assert r.status_code == 201, r.get_json()
    held = db.session.execute(
        select(PostClaim).where(PostClaim.post_id == held_post, PostClaim.user_id == uid)
    ).scalar_one()
    held.status = "approved"
    db.session.get(Post, held_post).holder_count += 1
    db.session.commit()

    # a need, a report with its photo, a photo never used, a WeChat message, a subscription
    need = client.post(
        "/api/v1/needs",
        json={"kind": "employment", "content": "希望社区多组织一些技能培训"},
        headers={**rider, "Idempotency-Key": "need-cancel-1"},
    )
    assert need.status_code == 201, need.get_json()
    report = file_report(client, units, rider, "路口有人倾倒建筑垃圾")["report"]
    unused = upload_photo(client, rider)
    unused_row = db.session.get(Upload, unused)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    unused_file = upload_dir / unused_row.storage_key
    assert unused_file.is_file()
    db.session.add(
        WeChatInbound(
            dedupe_key="msg:cancel-test",
            openid=rider.openid,
            msg_type="text",
            payload={"FromUserName": rider.openid, "Content": "路灯坏了"},
        )
    )
    theirs = file_report(client, units, other, "小区门口井盖缺失")["report"]
    followed = client.post(f"/api/v1/reports/{theirs['id']}/plus-one", headers=rider)
    assert followed.status_code in (200, 201), followed.get_json()
    follows = select(func.count()).where(ReportFollower.user_id == uid)
    assert db.session.scalar(follows) == 2  # their own report and the one they +1'd
    add_accept(uid, "tmpl-any", "client")
    db.session.commit()
    assert db.session.scalar(select(func.count()).where(Notification.user_id == uid)) > 0

    caplog.set_level(logging.INFO)
    caplog.clear()
    response = _cancel(client, rider)
    assert response.status_code == 204
    cancel_log = caplog.text
    assert response.data == b""
    db.session.expire_all()

    # the row: anonymous, inactive, revoked
    user = db.session.get(User, uid)
    assert user.is_active is False and user.cancelled_at is not None
    assert user.display_name == "已注销用户"
    assert user.openid != rider.openid and user.openid.startswith("deleted:")
    assert (user.unionid, user.phone_enc, user.phone_masked, user.avatar_url) == (None,) * 4
    assert (user.community_id, user.platform, user.session_key_enc) == (None, None, None)
    record = redis.get(principal.key(uid))
    if record is not None:  # the revocation written through: inactive, no name of theirs
        assert "张三丰" not in record
        assert principal.get(uid).is_active is False

    # points: the voucher cancelled, its point and stock back, the rest forfeited once
    assert db.session.get(Reward, reward_id).stock == 5
    statuses = db.session.execute(select(Redemption.status).where(Redemption.user_id == uid))
    assert statuses.scalars().all() == ["cancelled"]
    forfeit = db.session.execute(
        select(LedgerEntry).where(
            LedgerEntry.user_id == uid, LedgerEntry.source_type == "account_closure"
        )
    ).scalar_one()
    assert (forfeit.delta, forfeit.balance_after, forfeit.reason) == (-105, 0, "账号注销")
    assert _balance(uid) == 0
    assert db.session.scalar(select(func.count()).where(LedgerEntry.user_id == uid)) == 5
    verify_ledger_cli()
    # out of the rankings, and a rebuild from the ledger does not bring them back
    assert _rank_names(client, other) == ["李**"]
    assert app.test_cli_runner().invoke(args=["rankings", "rebuild"]).exit_code == 0
    redis.flushdb()
    assert _rank_names(client, other) == ["李**"]

    # the activity: withdrawn, the waitlisted moved up
    enrolments = dict(
        db.session.execute(
            select(Enrolment.user_id, Enrolment.status).where(Enrolment.activity_id == activity_id)
        ).all()
    )
    assert enrolments == {uid: "cancelled", other.user_id: "enrolled"}
    assert db.session.get(Activity, activity_id).enrolled_count == 1
    # posts: the pending claim withdrawn, the held one left
    claims = dict(
        db.session.execute(
            select(PostClaim.post_id, PostClaim.status).where(PostClaim.user_id == uid)
        ).all()
    )
    assert claims == {pending_post: "withdrawn", held_post: "ended"}
    assert db.session.get(Post, held_post).holder_count == 0
    # the need withdrawn; the report kept, reporter anonymous, its photo kept
    assert db.session.execute(select(Need.status).where(Need.user_id == uid)).scalar() == (
        "withdrawn"
    )
    kept = db.session.get(Report, report["id"])
    assert kept.reporter_id == uid
    public = client.get(f"/api/v1/reports/{report['id']}", headers=other).get_json()
    assert public["reporter"]["name"] in ("已注销用户", "匿名")
    assert "张三丰" not in str(public)
    attached = select(func.count()).where(Upload.owner_id == uid, Upload.ref_type.is_not(None))
    assert db.session.scalar(attached) >= 1
    assert db.session.get(Upload, unused) is None and not unused_file.exists()
    # check-ins kept; notifications and subscriptions gone; the WeChat message anonymous
    assert db.session.scalar(select(func.count()).where(CheckIn.user_id == uid)) == 1
    assert db.session.scalar(select(func.count()).where(Notification.user_id == uid)) == 0
    credits = select(func.count()).where(SubscriptionCredit.user_id == uid)
    assert db.session.scalar(credits) == 0
    inbound = db.session.execute(select(WeChatInbound)).scalar_one()
    assert rider.openid not in (inbound.openid, *inbound.payload.values())
    assert (inbound.status, inbound.report_id, inbound.error) == ("done", None, "account cancelled")
    retried = app.test_cli_runner().invoke(args=["inbox", "retry", "--all-failed"])
    assert retried.exit_code == 0 and "requeued 0" in retried.output  # never made anyone's
    assert db.session.scalar(select(func.count()).where(ReportFollower.user_id == uid)) == 0

    # one INFO line with the id, nothing personal
    lines = [r.getMessage() for r in caplog.records if "account cancelled" in r.getMessage()]
    assert lines == [f"account cancelled user_id={uid}"]
    assert "张三丰" not in cancel_log and rider.openid not in cancel_log


def test_old_token_refused_retry_401_and_a_new_login_is_a_new_account(client, login, units, db):
    rider = login("rider", display_name="王五")
    give_points(rider.user_id, 12)
    assert _cancel(client, rider).status_code == 204
    for method, url in (("get", "/api/v1/me"), ("get", "/api/v1/me/points")):
        response = getattr(client, method)(url, headers=rider)
        assert response.status_code == 401
        assert response.get_json()["code"] == "auth.token_revoked"
    retry = _cancel(client, rider)  # the first answer lost: the client sends it again
    assert retry.status_code == 401
    assert retry.get_json()["code"] == "auth.token_revoked"
    # the same WeChat user comes back: a new, empty account
    again = client.post("/api/v1/auth/wechat-login", json={"code": login_code(rider.openid)})
    assert again.status_code == 200
    body = again.get_json()
    assert body["is_new"] is True
    assert body["user"]["id"] != rider.user_id
    assert body["user"]["display_name"] is None and body["user"]["community_id"] is None
    new_auth = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/me/points", headers=new_auth).get_json()["balance"] == 0
    assert db.session.get(User, rider.user_id).is_active is False


def test_a_second_cancellation_changes_nothing(client, login, units, db, verify_ledger_cli):
    """What a retry racing the first call does once it has the locks: nothing more (one
    forfeit, one tombstone)."""
    from server.auth.cancellation import cancel_account

    rider = login("rider")
    give_points(rider.user_id, 40)
    stale = db.session.get(User, rider.user_id)  # as a second request read it, before…
    db.session.expunge(stale)
    cancel_account(db.session.get(User, rider.user_id), "注销")  # …the first committed
    db.session.expire_all()
    tombstone = db.session.get(User, rider.user_id).openid
    cancel_account(stale, "注销")
    db.session.rollback()
    db.session.expire_all()
    user = db.session.get(User, rider.user_id)
    assert user.openid == tombstone and user.cancelled_at is not None
    closures = select(func.count()).where(
        LedgerEntry.user_id == rider.user_id, LedgerEntry.source_type == "account_closure"
    )
    assert db.session.scalar(closures) == 1
    verify_ledger_cli()


# ------------------------------------------------------------------------- races


def test_double_tap_cancels_once(client, login, units, db, concurrently, verify_ledger_cli):
    rider = login("rider")
    give_points(rider.user_id, 30)

    def tap(c, i):
        response = c.post(CANCEL, json=CONFIRM, headers=rider)
        answer = response.get_json(silent=True)
        return response.status_code, answer and answer["code"]

    outcomes = Counter(concurrently(3, tap))
    assert set(outcomes) <= {(204, None), (401, "auth.token_revoked")}, outcomes
    assert outcomes[(204, None)] >= 1
    closures = select(func.count()).where(LedgerEntry.source_type == "account_closure")
    assert db.session.scalar(closures) == 1
    verify_ledger_cli()


def test_redemptions_and_check_ins_racing_cancellations(
    client, login, units, db, concurrently, verify_ledger_cli
):
    """Per rider a redemption, a check-in and the cancellation at once: whatever order the
    account lock gives them, no voucher stays pending, the stock comes back whole and the
    ledger verifies."""
    clock.freeze(dt.datetime(2026, 11, 18, 4, 0))
    reward = make_reward(units["A"], cost=20, stock=50)
    reward_id = reward.id
    station = make_station(units["A"])
    scan = {"scene": scene_of(station), "lat": station.lat, "lng": station.lng, "accuracy": 10}
    riders = [login("rider") for _ in range(4)]
    for n, rider in enumerate(riders):
        give_points(rider.user_id, 50, source_id=f"race-{n}")

    def act(c, i):
        rider = riders[i // 3]
        if i % 3 == 0:
            response = c.post("/api/v1/redemptions", json={"reward_id": reward_id}, headers=rider)
        elif i % 3 == 1:
            response = c.post("/api/v1/checkins", json=scan, headers=rider)
        else:
            response = c.post(CANCEL, json=CONFIRM, headers=rider)
        return i % 3, response.status_code

    results = concurrently(len(riders) * 3, act)
    assert all(status < 500 for _, status in results), results
    assert {status for kind, status in results if kind == 2} == {204}
    db.session.expire_all()
    ids = [rider.user_id for rider in riders]
    pending = select(func.count()).where(
        Redemption.user_id.in_(ids), Redemption.status == "pending"
    )
    assert db.session.scalar(pending) == 0
    assert db.session.get(Reward, reward_id).stock == 50
    for rider in riders:
        # forfeited; a check-in that got the lock after the cancellation keeps its award on
        # the anonymous account (nobody can spend it), and the ledger still adds up
        assert _balance(rider.user_id) in (0, 5)
        assert _db.session.get(User, rider.user_id).cancelled_at is not None
    verify_ledger_cli()

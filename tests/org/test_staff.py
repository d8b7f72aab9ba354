"""Staff invitations and binding: expiry, reuse, privilege escalation, unbinding."""

from __future__ import annotations

import datetime as dt
import threading

from click.testing import CliRunner

from server import clock
from server.org.models import StaffBinding, StaffInvitation


def _invite(client, auth, unit, role):
    return client.post(
        "/api/v1/admin/invitations", json={"org_unit_id": unit.id, "role": role}, headers=auth
    )


def test_community_admin_invites_grid_worker_who_binds(client, login, units, db):
    admin = login("community_admin", "A")
    response = _invite(client, admin, units["A1"], "grid_worker")
    assert response.status_code == 201
    code = response.get_json()["code"]
    assert db.session.query(StaffInvitation).filter_by(code_hash=code).count() == 0  # hashed

    worker = login("resident")
    bound = client.post("/api/v1/me/staff-binding", json={"code": code.lower()}, headers=worker)
    assert bound.status_code == 201
    assert bound.get_json()["role"] == "grid_worker"
    me = client.get("/api/v1/me", headers=worker).get_json()
    assert me["role"] == "grid_worker"
    assert me["staff"]["org_unit_id"] == units["A1"].id


def test_invitation_is_single_use(client, login, units):
    admin = login("community_admin", "A")
    code = _invite(client, admin, units["A1"], "grid_worker").get_json()["code"]
    first, second = login("resident"), login("resident")
    assert (
        client.post("/api/v1/me/staff-binding", json={"code": code}, headers=first).status_code
        == 201
    )
    response = client.post("/api/v1/me/staff-binding", json={"code": code}, headers=second)
    assert response.status_code == 409
    assert response.get_json()["code"] == "invitation.used"


def test_invitation_single_use_under_race(app, client, login, units, db):
    admin = login("community_admin", "A")
    code = _invite(client, admin, units["A1"], "grid_worker").get_json()["code"]
    users = [login("resident") for _ in range(8)]
    results = []

    def bind(headers):
        with app.test_client() as own:
            results.append(
                own.post(
                    "/api/v1/me/staff-binding", json={"code": code}, headers=headers
                ).status_code
            )

    threads = [threading.Thread(target=bind, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 7
    db.session.expire_all()
    assert db.session.query(StaffBinding).filter_by(org_unit_id=units["A1"].id).count() == 1


def test_invitation_expires(client, login, units, app):
    admin = login("community_admin", "A")
    code = _invite(client, admin, units["A1"], "grid_worker").get_json()["code"]
    hours = app.config["INVITATION_TTL_HOURS"]
    clock.freeze(clock.utcnow() + dt.timedelta(hours=hours, seconds=1))
    response = client.post(
        "/api/v1/me/staff-binding", json={"code": code}, headers=login("resident")
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invitation.expired"


def test_unknown_code(client, login):
    response = client.post(
        "/api/v1/me/staff-binding", json={"code": "ABCD-EFGH-JKLM"}, headers=login("resident")
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invitation.invalid"


def test_no_privilege_escalation(client, login, units):
    community_admin = login("community_admin", "A")
    assert _invite(client, community_admin, units["S1"], "street_admin").status_code == 404
    response = _invite(client, community_admin, units["A"], "street_admin")
    assert response.status_code == 403
    assert response.get_json()["code"] == "invitation.exceeds_inviter"
    response = _invite(client, community_admin, units["A"], "admin")
    assert response.status_code == 403
    assert response.get_json()["code"] == "invitation.admin_cli_only"
    # outside the subtree: the unit does not exist for them
    assert _invite(client, community_admin, units["B1"], "grid_worker").status_code == 404
    # grid workers cannot invite at all
    worker = login("grid_worker", "A1")
    refused = _invite(client, worker, units["A1"], "grid_worker")
    assert refused.status_code == 403
    # staff, told what the operation needs (not "staff only")
    assert refused.get_json()["code"] == "auth.role_too_low"
    assert "社区管理员及以上权限" in refused.get_json()["message"]
    # citizens neither
    response = _invite(client, login("rider"), units["A1"], "grid_worker")
    assert response.status_code == 403
    assert response.get_json()["code"] == "auth.staff_only"


def test_role_must_fit_the_level(client, login, units):
    street = login("street_admin", "S1")
    response = _invite(client, street, units["A1"], "community_admin")
    assert response.status_code == 422
    assert response.get_json()["code"] == "invitation.level_mismatch"


def test_unbinding_revokes_tokens(client, login, units, db):
    admin = login("community_admin", "A")
    worker = login("grid_worker", "A1")
    binding = db.session.query(StaffBinding).filter_by(user_id=worker.user_id).one()
    client.patch("/api/v1/me", json={"display_name": "李网格员"}, headers=worker)
    staff = client.get("/api/v1/admin/staff", headers=admin).get_json()
    listed = {b["id"]: b for b in staff["items"]}
    assert listed[binding.id]["display_name"] == "李网格员"  # who it is, for the picker
    assert listed[binding.id]["role_name"] == "网格员"
    assert client.delete(f"/api/v1/admin/staff/{binding.id}", headers=admin).status_code == 204
    response = client.get("/api/v1/me", headers=worker)
    assert response.status_code == 401
    assert response.get_json()["code"] == "auth.token_revoked"


def test_admin_of_b_cannot_unbind_staff_of_a(client, login, db):
    worker = login("grid_worker", "A1")
    other = login("community_admin", "B")
    binding = db.session.query(StaffBinding).filter_by(user_id=worker.user_id).one()
    assert client.delete(f"/api/v1/admin/staff/{binding.id}", headers=other).status_code == 404
    assert db.session.get(StaffBinding, binding.id).revoked_at is None


def test_cli_invite_staff_prints_code_last(app, units, client, login):
    runner = CliRunner()
    result = runner.invoke(app.cli, ["invite-staff", "--org-unit", "T-S1", "--role", "admin"])
    assert result.exit_code == 0, result.output
    code = result.output.strip().splitlines()[-1]
    user = login("resident")
    bound = client.post("/api/v1/me/staff-binding", json={"code": code}, headers=user)
    assert bound.get_json()["role"] == "admin"
    bad = runner.invoke(app.cli, ["invite-staff", "--org-unit", "NOPE", "--role", "admin"])
    assert bad.exit_code != 0
    assert "NOPE" in bad.output


def test_cli_org_unit_add_bootstraps_a_fresh_install(app, client, login, db, units):
    """No unit, so no invitation, so no admin: the first district and street come from the
    command line, then the first staff invitation."""
    from server.org.models import OrgUnit

    runner = CliRunner()
    district = runner.invoke(app.cli, ["org-unit", "add", "D-JS", "金水区", "--level", "district"])
    assert district.exit_code == 0, district.output
    street = runner.invoke(
        app.cli,
        ["org-unit", "add", "ST-JS", " 经八路街道 ", "--level", "street", "--parent", "D-JS"],
    )
    assert street.exit_code == 0, street.output
    made = db.session.query(OrgUnit).filter_by(code="ST-JS").one()
    assert (made.name, made.level, made.parent.code) == ("经八路街道", "street", "D-JS")
    assert made.path in street.output
    invited = runner.invoke(app.cli, ["invite-staff", "--org-unit", "ST-JS", "--role", "admin"])
    assert invited.exit_code == 0, invited.output
    bound = client.post(
        "/api/v1/me/staff-binding",
        json={"code": invited.output.strip().splitlines()[-1]},
        headers=login("resident"),
    )
    assert bound.status_code == 201 and bound.get_json()["role"] == "admin"
    # refused, nothing added: a street without its district, a level out of order, a taken code
    for args, says in (
        (["ST-X", "x", "--level", "street"], "只有区可以没有上级"),
        (["C-X", "x", "--level", "community", "--parent", "D-JS"], "下只能建立下一级单位"),
        (["ST-JS", "x", "--level", "street", "--parent", "D-JS"], "已被使用"),
        (["C-X", "x", "--level", "community", "--parent", "NOPE"], "NOPE"),
        (["   ", "   ", "--level", "district"], "编码只能用"),
        (["金水 区/1", "金水区", "--level", "district"], "编码只能用"),
        (["D-" + "X" * 40, "金水区", "--level", "district"], "编码只能用"),
        (["D-OK", "   ", "--level", "district"], "name"),
    ):
        refused = runner.invoke(app.cli, ["org-unit", "add", *args])
        assert refused.exit_code == 1 and says in refused.output, refused.output
    assert db.session.query(OrgUnit).filter(OrgUnit.code.in_(["ST-X", "C-X", "D-OK"])).count() == 0
    assert db.session.query(OrgUnit).filter_by(level="district").count() == 1 + len(
        [u for u in units.values() if u.level == "district"]
    )

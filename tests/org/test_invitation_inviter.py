"""A staff member removed from their post can re-bind themselves with a code they minted before."""

from server.org.models import StaffBinding


def test_unbound_inviter_cannot_reinstate_themselves(client, login, units, db):
    leaver = login("community_admin", "A")
    # before leaving, the community admin mints a code for their own role and unit
    minted = client.post(
        "/api/v1/admin/invitations",
        json={"org_unit_id": units["A"].id, "role": "community_admin"},
        headers=leaver,
    )
    assert minted.status_code == 201
    code = minted.get_json()["code"]

    # the street office removes them (SECURITY.md: "revoke a binding when someone leaves")
    street = login("street_admin", "S1")
    binding_id = db.session.query(StaffBinding).filter_by(user_id=leaver.user_id).one().id
    assert client.delete(f"/api/v1/admin/staff/{binding_id}", headers=street).status_code == 204

    # they log in again (same WeChat account) and redeem their own code
    again = login("resident", openid=leaver.openid)
    response = client.post("/api/v1/me/staff-binding", json={"code": code}, headers=again)
    me = client.get("/api/v1/me", headers=again).get_json()
    assert response.status_code == 400, (response.status_code, me["role"], me["staff"])
    assert response.get_json()["code"] == "invitation.inviter_left"
    assert me["role"] == "resident"


def test_a_code_from_an_inviter_still_in_post_binds(client, login, units):
    admin = login("community_admin", "A")
    minted = client.post(
        "/api/v1/admin/invitations",
        json={"org_unit_id": units["A1"].id, "role": "grid_worker"},
        headers=admin,
    )
    newcomer = login("resident")
    response = client.post(
        "/api/v1/me/staff-binding", json={"code": minted.get_json()["code"]}, headers=newcomer
    )
    assert response.status_code == 201, response.get_json()


def test_a_code_from_a_deactivated_inviter_is_refused(client, login, units, db):
    from server.auth.models import User

    admin = login("community_admin", "A")
    code = client.post(
        "/api/v1/admin/invitations",
        json={"org_unit_id": units["A1"].id, "role": "grid_worker"},
        headers=admin,
    ).get_json()["code"]
    inviter = db.session.get(User, admin.user_id)
    inviter.is_active = False
    db.session.commit()
    response = client.post(
        "/api/v1/me/staff-binding", json={"code": code}, headers=login("resident")
    )
    assert response.status_code == 400
    assert response.get_json()["code"] == "invitation.inviter_left"

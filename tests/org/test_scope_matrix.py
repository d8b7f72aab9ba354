"""The one guard: role R over org unit U's subtree — each role sees and changes only its own."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.auth.guards import Scope
from server.auth.models import User
from server.errors import Forbidden, NotFound
from server.org.models import OrgUnit, StaffBinding

# (role, bound at) -> the units its subtree holds
REACH = {
    ("grid_worker", "A1"): {"A1"},
    ("community_admin", "A"): {"A", "A1", "A2"},
    ("street_admin", "S1"): {"S1", "A", "A1", "A2", "B", "B1"},
    ("admin", "D"): {"D", "S1", "S2", "A", "A1", "A2", "B", "B1", "C", "C1"},
}
ALL = ["D", "S1", "S2", "A", "B", "C", "A1", "A2", "B1", "C1"]


@pytest.mark.parametrize(("role", "home"), list(REACH))
def test_scope_covers_exactly_the_subtree(login, units, db, role, home):
    auth = login(role, home)
    user = db.session.get(User, auth.user_id)
    binding = db.session.execute(
        select(StaffBinding).where(StaffBinding.user_id == user.id)
    ).scalar_one()
    scope = Scope(user=user, role=role, unit=binding.org_unit)
    for key in ALL:
        unit = units[key]
        if key in REACH[(role, home)]:
            assert scope.ensure(unit) == unit
        else:
            with pytest.raises(NotFound):
                scope.ensure(unit)
    visible = set(
        db.session.execute(select(OrgUnit.code).where(scope.clause(OrgUnit.id))).scalars()
    )
    assert visible == {f"T-{k}" for k in REACH[(role, home)]}


def test_role_below_the_required_one_is_403_inside_scope(login, units, db):
    auth = login("grid_worker", "A1")
    user = db.session.get(User, auth.user_id)
    scope = Scope(user=user, role="grid_worker", unit=units["A1"])
    with pytest.raises(Forbidden):
        scope.ensure(units["A1"], min_role="community_admin")


@pytest.mark.parametrize(("role", "home"), list(REACH))
def test_staff_list_shows_only_the_subtree(client, login, role, home):
    members = {key: login("grid_worker", key) for key in ("A1", "A2", "B1", "C1")}
    auth = login(role, home)
    response = client.get("/api/v1/admin/staff?page_size=100", headers=auth)
    if role == "grid_worker":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    seen = {item["user_id"] for item in response.get_json()["items"]}
    for key, member in members.items():
        assert (member.user_id in seen) == (key in REACH[(role, home)]), key


@pytest.mark.parametrize(("role", "home"), [k for k in REACH if k[0] != "grid_worker"])
def test_invitations_only_inside_the_subtree(client, login, units, role, home):
    auth = login(role, home)
    for key in ("A1", "B1", "C1"):
        response = client.post(
            "/api/v1/admin/invitations",
            json={"org_unit_id": units[key].id, "role": "grid_worker"},
            headers=auth,
        )
        expected = 201 if key in REACH[(role, home)] else 404
        assert response.status_code == expected, (key, response.get_json())
        if expected == 404:
            assert "code" not in response.get_json()["details"]  # no data leaks out

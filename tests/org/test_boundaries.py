"""Boundaries drawn by staff: routing sends a report to the smallest unit holding its point,
so a boundary is a claim on reports. It must be a valid shape, inside its nearest bounded
ancestor, and clear of units outside the drawer's subtree."""

from __future__ import annotations

from server.reports.routing import route_point
from tests.factories import box

URL = "/api/v1/admin/org-units"


def _add(client, auth, parent, boundary, code="T-NEW", level="micro_grid"):
    return client.post(
        URL,
        json={
            "code": code,
            "name": "新微网格",
            "level": level,
            "parent_id": parent.id,
            "boundary": boundary,
        },
        headers=auth,
    )


def test_a_boundary_over_another_streets_community_is_refused(client, units, login):
    c = units["C"]  # community of street S2
    admin = login("street_admin", "S1")
    drawn = box(c.center_lat, c.center_lng, 0.02)
    response = _add(client, admin, units["A1"], drawn)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] in ("org.boundary_outside_parent", "org.boundary_overlaps")
    unit, _ = route_point(c.center_lat, c.center_lng)
    assert unit.path.startswith(units["S2"].path)


def test_a_boundary_overlapping_a_unit_outside_the_subtree_is_refused_even_without_a_bounded_parent(
    client, units, login, db
):
    """Where the parents have no boundary to hold it in, overlap with others still counts."""
    for key in ("D", "S1", "A", "A1"):
        units[key].boundary = None
    db.session.commit()
    c = units["C"]
    response = _add(
        client, login("street_admin", "S1"), units["A1"], box(c.center_lat, c.center_lng, 0.005)
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "org.boundary_overlaps"
    assert "测试C" in response.get_json()["message"] or "测试S2" in response.get_json()["message"]


def test_a_boundary_inside_the_parent_is_accepted_and_routes(client, units, login):
    a1 = units["A1"]
    response = _add(
        client, login("street_admin", "S1"), a1, box(a1.center_lat, a1.center_lng, 0.002)
    )
    assert response.status_code == 201, response.get_json()
    unit, how = route_point(a1.center_lat, a1.center_lng)
    assert (unit.code, how) == ("T-NEW", "boundary")


def test_an_invalid_shape_is_refused(client, units, login):
    a1 = units["A1"]
    lat, lng = a1.center_lat, a1.center_lng
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [lng, lat],
                [lng + 0.001, lat + 0.001],
                [lng + 0.001, lat],
                [lng, lat + 0.001],
                [lng, lat],
            ]
        ],
    }
    response = _add(client, login("street_admin", "S1"), a1, bowtie)
    assert (response.status_code, response.get_json()["code"]) == (422, "org.invalid_boundary")


def test_a_boundary_beyond_its_parent_is_refused_even_inside_the_drawers_subtree(
    client, units, login
):
    """A micro-grid of A1 reaching into A2 (same street, same drawer) would take A2's reports."""
    a2 = units["A2"]
    response = _add(
        client, login("street_admin", "S1"), units["A1"], box(a2.center_lat, a2.center_lng, 0.002)
    )
    assert response.status_code == 422
    assert response.get_json()["code"] == "org.boundary_outside_parent"
    assert "测试A1" in response.get_json()["message"]


def test_a_huge_integer_coordinate_is_a_422_not_a_500(client, units, login):
    """JSON allows 1 followed by 400 zeros; shapely's float() of it overflows."""
    a1 = units["A1"]
    lat, lng = a1.center_lat, a1.center_lng
    huge = "1" + "0" * 400
    corner = f"[{lng + 0.001!r}, {lat + 0.001!r}]"
    ring = f"[[{lng!r}, {lat!r}], [{huge}, {lat!r}], {corner}, [{lng!r}, {lat!r}]]"
    body = (
        f'{{"code": "T-BIG", "name": "x", "level": "micro_grid", "parent_id": {a1.id},'
        f' "boundary": {{"type": "Polygon", "coordinates": [{ring}]}}}}'
    )
    response = client.post(
        URL, data=body, content_type="application/json", headers=login("street_admin", "S1")
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "org.invalid_boundary")

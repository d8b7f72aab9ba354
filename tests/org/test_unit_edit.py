"""Boundaries and centres after the fact: `org-unit add --boundary/--center`, `org-unit set`
and PATCH /admin/org-units/{id}. A community or grid without a boundary (or a centre) gets no
report routed to it: every one lands in the street's queue."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from server import clock
from server.org.models import OrgUnit
from server.reports.routing import route_point
from tests.factories import box

URL = "/api/v1/admin/org-units"
GAP = (34.75, 113.60)  # inside street S1 of the test tree, outside its communities


def _unit(db, code: str) -> OrgUnit:
    db.session.expire_all()
    return db.session.execute(select(OrgUnit).where(OrgUnit.code == code)).scalar_one()


def _file(tmp_path, geojson, name="boundary.geojson") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(geojson, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _feature(geometry) -> dict:
    """What geojson.io and most GIS tools save: a collection of one feature."""
    feature = {"type": "Feature", "properties": {"name": "x"}, "geometry": geometry}
    return {"type": "FeatureCollection", "features": [feature]}


# --------------------------------------------------------------- the command line


def test_org_unit_add_takes_a_boundary_and_a_centre(app, db, units, tmp_path):
    boundary = box(*GAP, 0.005)
    result = CliRunner().invoke(
        app.cli,
        [
            "org-unit", "add", "T-NEWC", "新社区", "--level", "community", "--parent", "T-S1",
            "--boundary", _file(tmp_path, _feature(boundary)), "--center", "34.75, 113.60",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "boundary Polygon" in result.output and "centre 34.75,113.6" in result.output
    made = _unit(db, "T-NEWC")
    assert (made.boundary, made.center_lat, made.center_lng) == (boundary, 34.75, 113.60)
    routed, how = route_point(*GAP)
    assert (routed.code, how) == ("T-NEWC", "boundary")


@pytest.mark.parametrize(
    ("extra", "exit_code", "says"),
    [
        (["--boundary", "{c_box}"], 1, "超出了上级「测试S1」的范围"),
        (["--boundary", "{point}"], 1, "边界须为 GeoJSON Polygon 或 MultiPolygon"),
        (["--boundary", "{bowtie}"], 1, "边界图形无效"),
        (["--boundary", "{two}"], 2, "holds 2 features"),
        (["--boundary", "{not_json}"], 2, "is not JSON"),
        (["--boundary", "{missing}"], 2, "does not exist"),
        (["--center", "34.75"], 2, "expected LAT,LNG"),
        (["--center", "north,east"], 2, "expected LAT,LNG"),
        (["--center", "95,113.6"], 1, "center_lat"),
    ],
)
def test_org_unit_add_refuses_what_the_api_refuses(
    app, db, units, tmp_path, extra, exit_code, says
):
    c, lat, lng = units["C"], *GAP
    bowtie = [[lng, lat], [lng + 0.001, lat + 0.001], [lng + 0.001, lat], [lng, lat + 0.001]]
    files = {
        "c_box": _file(tmp_path, box(c.center_lat, c.center_lng, 0.005), "c.json"),
        "point": _file(tmp_path, {"type": "Point", "coordinates": [lng, lat]}, "point.json"),
        "bowtie": _file(
            tmp_path, {"type": "Polygon", "coordinates": [[*bowtie, [lng, lat]]]}, "bow.json"
        ),
        "two": _file(
            tmp_path,
            {"type": "FeatureCollection", "features": _feature(box(*GAP, 0.001))["features"] * 2},
            "two.json",
        ),
        "missing": str(tmp_path / "nowhere.json"),
    }
    (tmp_path / "bad.json").write_text("{not json")
    files["not_json"] = str(tmp_path / "bad.json")
    args = [a.format(**files) for a in extra]
    result = CliRunner().invoke(
        app.cli,
        ["org-unit", "add", "T-NEWC", "新社区", "--level", "community", "--parent", "T-S1", *args],
    )
    assert result.exit_code == exit_code, result.output
    assert says in result.output, result.output
    assert db.session.execute(select(OrgUnit).where(OrgUnit.code == "T-NEWC")).first() is None


def test_org_unit_set_gives_a_community_its_boundary_later(app, db, units, tmp_path):
    runner = CliRunner()
    added = runner.invoke(
        app.cli, ["org-unit", "add", "T-NEWC", "新社区", "--level", "community", "--parent", "T-S1"]
    )
    assert added.exit_code == 0, added.output
    assert "org-unit set T-NEWC --boundary FILE --center LAT,LNG" in added.output
    routed, how = route_point(*GAP)  # the index is built, without the new community
    assert routed.code != "T-NEWC"
    boundary = box(*GAP, 0.005)
    result = runner.invoke(
        app.cli,
        [
            "org-unit", "set", "T-NEWC", "--name", "淮南社区",
            "--boundary", _file(tmp_path, boundary), "--center", "34.75,113.6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    made = _unit(db, "T-NEWC")
    assert (made.name, made.boundary, made.center_lat, made.level) == (
        "淮南社区",
        boundary,
        34.75,
        "community",
    )
    routed, how = route_point(*GAP)
    assert (routed.code, how) == ("T-NEWC", "boundary")
    # refused, nothing changed
    for args, code, says in (
        (["T-NEWC"], 2, "nothing to change"),
        (["NOPE", "--name", "x"], 1, "找不到编码为 NOPE 的单位"),
        (["T-NEWC", "--name", "  "], 1, "name"),
        (
            ["T-NEWC", "--boundary", _file(tmp_path, box(34.82, 113.74, 0.005), "s2.json")],
            1,
            "超出",
        ),
    ):
        refused = runner.invoke(app.cli, ["org-unit", "set", *args])
        assert refused.exit_code == code and says in refused.output, refused.output
    assert _unit(db, "T-NEWC").boundary == boundary


# ------------------------------------------------------------------------- the API


def _patch(client, auth, unit, body):
    return client.patch(f"{URL}/{unit.id}", json=body, headers=auth)


def test_a_street_admin_sets_a_new_communitys_boundary_and_routing_follows(
    client, db, units, login
):
    street = login("street_admin", "S1")
    made = client.post(
        URL,
        json={
            "code": "T-NEWC",
            "name": "新社区",
            "level": "community",
            "parent_id": units["S1"].id,
        },
        headers=street,
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["boundary"] is None
    assert route_point(*GAP)[0].code != "T-NEWC"
    # edited on a node whose clock is a second behind the one that created the unit
    unit = _unit(db, "T-NEWC")
    clock.freeze(unit.updated_at - dt.timedelta(seconds=1))
    boundary = box(*GAP, 0.005)
    response = _patch(
        client, street, unit, {"boundary": boundary, "center_lat": GAP[0], "center_lng": GAP[1]}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["boundary"], body["center_lat"], body["code"], body["level"]) == (
        boundary,
        GAP[0],
        "T-NEWC",
        "community",
    )
    assert (route_point(*GAP)[0].code, route_point(*GAP)[1]) == ("T-NEWC", "boundary")
    # a new name; then the boundary taken away again
    assert _patch(client, street, unit, {"name": "淮南社区"}).get_json()["name"] == "淮南社区"
    assert _patch(client, street, unit, {"boundary": None}).status_code == 200
    routed, how = route_point(*GAP)
    assert (routed.code, how) == ("T-NEWC", "nearest")  # by its centre, as before a boundary


def test_who_may_edit_which_unit(client, units, login):
    """Street admins and above, within their subtree (their own street included, never the
    district above it nor a neighbour's); a system admin anywhere."""
    street = login("street_admin", "S1")
    for key, status in (("S1", 200), ("A", 200), ("A1", 200), ("D", 404), ("S2", 404), ("C", 404)):
        response = _patch(client, street, units[key], {"name": f"改{key}"})
        assert response.status_code == status, (key, response.get_json())
    assert _patch(client, login("admin", "D"), units["C"], {"name": "改C"}).status_code == 200
    for who, code in (
        (login("community_admin", "A"), "auth.role_too_low"),
        (login("grid_worker", "A1"), "auth.role_too_low"),
        (login("resident", "A"), "auth.staff_only"),
    ):
        response = _patch(client, who, units["A1"], {"name": "越权"})
        assert (response.status_code, response.get_json()["code"]) == (403, code)
    assert _patch(client, {}, units["A1"], {"name": "x"}).status_code == 401
    missing = client.patch(f"{URL}/987654", json={"name": "x"}, headers=street)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"level": "grid"}, "level", "层级不能修改"),
        ({"parent_id": 1}, "parent_id", "上级单位不能修改"),
        ({"code": "T-X"}, "code", "编码不能修改"),
        ({"center_lat": 34.7}, "center_lat", "须一起填写"),
        ({"center_lat": 34.7, "center_lng": None}, "center_lat", "须一起填写"),
        ({"name": ""}, "name", None),
        ({"boundary": {"type": "Point", "coordinates": [113.6, 34.7]}}, "boundary", "Polygon"),
    ],
)
def test_what_cannot_change_is_refused_with_the_field_named(
    client, units, login, body, field, says
):
    response = _patch(client, login("street_admin", "S1"), units["A"], body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()
    assert error["code"] == "validation_error"
    messages = error["details"]["errors"]["json"][field]
    assert says is None or says in " ".join(messages), messages


def test_a_boundary_is_checked_as_a_new_units_is(client, db, units, login):
    street, a = login("street_admin", "S1"), units["A"]
    c = units["C"]
    lat, lng = a.center_lat, a.center_lng
    bowtie = [[lng, lat], [lng + 0.01, lat + 0.01], [lng + 0.01, lat], [lng, lat + 0.01]]
    for boundary, code, names in (
        ({"type": "Polygon", "coordinates": [[*bowtie, [lng, lat]]]}, "org.invalid_boundary", ""),
        (box(c.center_lat, c.center_lng, 0.005), "org.boundary_outside_parent", "测试S1"),
        # smaller than its grids: a point of A1 left outside A would route past A
        (box(lat, lng, 0.002), "org.boundary_excludes_subunit", "测试A1"),
    ):
        response = _patch(client, street, a, {"boundary": boundary})
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["code"] == code
        assert names in response.get_json()["message"]
    # where nothing bounds it from above, another street's units still may not be taken
    for key in ("D", "S1"):
        units[key].boundary = None
    db.session.commit()
    grown = box(34.78, 113.68, 0.07)  # A's grids and C (street S2) both inside
    response = _patch(client, street, a, {"boundary": grown})
    assert (response.status_code, response.get_json()["code"]) == (422, "org.boundary_overlaps")
    assert "测试C" in response.get_json()["message"] or "测试S2" in response.get_json()["message"]
    assert _unit(db, "T-A").boundary == box(lat, lng, 0.01)
    # a system admin may draw it (over S2 too): the operator's call
    assert _patch(client, login("admin", "D"), a, {"boundary": grown}).status_code == 200


def test_the_openapi_document_describes_the_edit(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/admin/org-units/{unit_id}"]["patch"]
    assert {"200", "401", "403", "404", "422"} <= set(operation["responses"])
    ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert set(schema["properties"]) == {"name", "boundary", "center_lat", "center_lng"}

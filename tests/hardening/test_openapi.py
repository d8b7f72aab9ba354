"""The OpenAPI document is whole: every reference resolves (clients and fuzzers load it)."""

from __future__ import annotations

from tests.hardening.helpers import openapi


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_resolves(client):
    spec = openapi(client)
    dangling = set()
    for ref in _refs(spec):
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            dangling.add(ref)
    assert not dangling  # e.g. the 401/403 responses staff_required documents


def test_staff_operations_document_401_and_403(client):
    spec = openapi(client)
    for path, item in spec["paths"].items():
        if path.startswith("/api/v1/admin/"):
            for method, op in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_every_request_integer_is_bounded(client):
    """Ids beyond BIGINT were a 500 (SQLite OverflowError, PostgreSQL out of range)."""
    spec = openapi(client)
    schemas = spec["components"]["schemas"]
    unbounded = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for param in op.get("parameters", []):
                schema = param.get("schema", {})
                if schema.get("type") == "integer" and "maximum" not in schema:
                    unbounded.append(f"{method} {path} {param['name']}")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = body.get("schema", {}).get("$ref", "")
            for name, prop in schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}).items():
                target = prop.get("items", prop)
                if target.get("type") == "integer" and "maximum" not in target:
                    unbounded.append(f"{method} {path} body.{name}")
    assert not unbounded, unbounded


def test_huge_ids_are_404_in_urls_and_422_in_bodies(client, login):
    admin = login("community_admin", "A")
    huge = 2**63
    assert client.get(f"/api/v1/admin/stations/{huge}", headers=admin).status_code == 404
    assert client.get(f"/api/v1/stations/{huge * 1000}").status_code == 404
    response = client.post(
        "/api/v1/admin/invitations",
        json={"org_unit_id": huge, "role": "grid_worker"},
        headers=admin,
    )
    assert (response.status_code, response.get_json()["code"]) == (422, "validation_error")
    response = client.get(
        "/api/v1/admin/stations", query_string={"org_unit_id": huge}, headers=admin
    )
    assert response.status_code == 422


def test_dates_outside_2000_2099_are_refused(client, login, units):
    admin = login("community_admin", "A")
    body = {
        "org_unit_id": units["A"].id,
        "title": "交通安全课",
        "place": "党群服务中心",
        "lat": units["A"].center_lat,
        "lng": units["A"].center_lng,
        "starts_at": "0363-12-24T19:03:55Z",
        "ends_at": "2026-12-24T19:03:55Z",
        "capacity": 10,
    }
    response = client.post("/api/v1/admin/activities", json=body, headers=admin)
    assert response.status_code == 422
    assert "starts_at" in response.get_json()["details"]["errors"]["json"]


def test_the_check_in_documents_its_refusals(client):
    """The rider's most used write lists the statuses it refuses with, and the codes."""
    operation = openapi(client)["paths"]["/api/v1/checkins"]["post"]
    assert {"201", "400", "401", "403", "409", "422", "429"} <= set(operation["responses"])
    assert "checkin.already_checked_in" in operation["description"]

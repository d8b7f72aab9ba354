"""One error envelope for every failure; request ids; no HTML error pages."""

from __future__ import annotations

import pytest

ENVELOPE_KEYS = {"code", "message", "status", "details"}


def _assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.content_type.startswith("application/json")
    body = response.get_json()
    assert set(body) == ENVELOPE_KEYS
    assert body["status"] == status
    assert body["code"] == code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])  # a Chinese message
    return body


def test_404_unknown_path(client):
    _assert_envelope(client.get("/api/v1/no-such-thing"), 404, "not_found")
    _assert_envelope(client.get("/"), 404, "not_found")


def test_405_with_allow_header(client):
    response = client.delete("/api/v1/auth/wechat-login")
    _assert_envelope(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_malformed_json(client):
    response = client.post(
        "/api/v1/auth/wechat-login", data="{not json", content_type="application/json"
    )
    _assert_envelope(response, 400, "malformed_json")


def test_422_lists_field_errors(client):
    body = _assert_envelope(
        client.post("/api/v1/auth/wechat-login", json={"code": ""}), 422, "validation_error"
    )
    assert "code" in body["details"]["errors"]["json"]


def test_413_request_too_large(client, app):
    size = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post(
        "/api/v1/auth/wechat-login", data=b"x" * size, content_type="application/json"
    )
    _assert_envelope(response, 413, "request_too_large")


@pytest.mark.undocumented_status(500, reason="a bug planted on purpose: how a 500 looks")
def test_500_is_an_envelope_and_logged(client, caplog, monkeypatch):
    def _boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("server.org.services.list_units", _boom)
    response = client.get("/api/v1/org-units")
    body = _assert_envelope(response, 500, "internal_error")
    assert "boom" not in body["message"]
    assert "RuntimeError" in caplog.text


def test_request_id_echoed_or_made(client):
    made = client.get("/api/v1/org-units")
    assert len(made.headers["X-Request-Id"]) == 32
    given = client.get("/api/v1/org-units", headers={"X-Request-Id": "abc-12345678"})
    assert given.headers["X-Request-Id"] == "abc-12345678"
    hostile = client.get("/api/v1/org-units", headers={"X-Request-Id": "<script>alert(1)"})
    assert len(hostile.headers["X-Request-Id"]) == 32  # replaced, not echoed


@pytest.mark.parametrize("path", ["/api/v1/openapi.json", "/api/v1/docs"])
def test_docs_are_served(client, path):
    assert client.get(path).status_code == 200


def test_openapi_documents_the_contract(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/wechat-login",
        "/api/v1/me",
        "/api/v1/me/phone",
        "/api/v1/me/staff-binding",
        "/api/v1/org-units",
    ):
        assert path in paths, path
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "Error" in spec["components"]["schemas"]
    me = paths["/api/v1/me"]["get"]
    assert me["security"] == [{"bearerAuth": []}]
    assert "401" in me["responses"]
    # every operation documents a summary (from the one-line docstrings)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                assert operation.get("summary"), f"{method.upper()} {path}"


def test_docs_assets_are_local(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/" in page
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200
        assert asset.content_type.startswith(("application/javascript", "text/javascript"))


def test_field_hints_of_a_422_are_in_chinese(client, login):
    """The envelope's message is Chinese; so are the per-field hints beside it."""
    rider = login("rider")
    body = {"scene": "", "lat": 300, "accuracy": "很准", "extra": 1}
    response = client.post("/api/v1/checkins", json=body, headers=rider)
    assert response.status_code == 422
    errors = response.get_json()["details"]["errors"]
    flat = [text for field in errors.values() for texts in field.values() for text in texts]
    assert flat and all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in flat), errors
    by_field = errors["json"]
    assert by_field["lng"] == ["此项必填"]
    assert by_field["lat"] == ["应不小于 3.0，且不大于 54.0"]
    assert by_field["accuracy"] == ["应为数字"]
    assert by_field["extra"] == ["不认识的字段"]
    listing = client.get("/api/v1/me/checkins?page=0", headers=rider)
    assert listing.get_json()["details"]["errors"]["query"]["page"][0].startswith("应不小于")

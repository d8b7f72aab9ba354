"""A list page counts at most COUNT_CAP + 1 rows of its set (a street's million check-ins
were counted whole on every page): `total` is exact below the cap, and above it is the cap
with `total_capped` saying so; `has_more` says whether page + 1 can be fetched. Page numbers
reach the first MAX_OFFSET rows; deeper is a 422 `paging.too_deep` asking for narrower
filters, and the staff lists that grow without bound go on with `before_id`."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server import http
from server.errors import DomainError
from server.extensions import db
from server.org.models import OrgUnit
from tests.factories import recorded_statements


@pytest.fixture
def counted(app):
    with recorded_statements() as statements:
        yield statements


def _units():
    return select(OrgUnit).order_by(OrgUnit.id.desc())


def test_below_the_cap_total_is_exact(units):
    n = len(units)
    page = http.paginate(_units(), 1, 5)
    assert page["total"] == n and page["total_capped"] is False
    assert page["has_more"] is (n > 5)
    last = http.paginate(_units(), (n + 4) // 5, 5)
    assert last["has_more"] is False and last["total"] == n
    assert [u.id for u in last["items"]] == [u.id for u in db.session.scalars(_units())][
        ((n + 4) // 5 - 1) * 5 :
    ]


def test_the_count_stops_at_the_cap(units, monkeypatch, counted):
    monkeypatch.setattr(http, "COUNT_CAP", 4)
    assert len(units) > 5
    page = http.paginate(_units(), 1, 3)
    assert page["total"] == 4 and page["total_capped"] is True
    assert page["has_more"] is True and len(page["items"]) == 3
    count = next(s for s in counted if s.startswith("SELECT count(*)"))
    assert "LIMIT" in count  # the database stops counting too
    # near the end of what was counted: still more (counting saw a fifth row)
    assert http.paginate(_units(), 2, 2)["has_more"] is True


def test_page_numbers_reach_the_first_max_offset_rows(units, monkeypatch):
    monkeypatch.setattr(http, "MAX_OFFSET", 4)
    assert http.paginate(_units(), 2, 2)["has_more"] is False  # page 3 would start at row 5
    with pytest.raises(DomainError) as refused:
        http.paginate(_units(), 3, 2)
    assert refused.value.code == "paging.too_deep" and refused.value.status == 422
    assert "日期范围" in refused.value.message


def test_a_deep_page_is_refused_with_a_clear_code(client, login):
    auth = login("street_admin", "S1")
    deep = f"page={http.MAX_OFFSET // 20 + 1}&page_size=20"
    for path in ("/api/v1/admin/checkins", "/api/v1/work-orders", "/api/v1/admin/stations"):
        response = client.get(f"{path}?{deep}", headers=auth)
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["code"] == "paging.too_deep"
        last = client.get(f"{path}?page={http.MAX_OFFSET // 20}&page_size=20", headers=auth)
        assert last.status_code == 200
        assert last.get_json()["items"] == [] and last.get_json()["has_more"] is False


def test_the_document_describes_the_envelope(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("AdminCheckinPage", "WorkOrderPage", "NotificationPage"):
        page = schemas[name]
        assert {"total", "total_capped", "has_more"} <= set(page["required"]), name
        assert page["properties"]["total_capped"]["type"] == "boolean"
    assert "next_before_id" in schemas["WorkOrderPage"]["required"]
    assert "next_before_id" in schemas["AdminCheckinPage"]["required"]
    assert "next_before_id" not in schemas["NotificationPage"]["properties"]
    for path in ("/api/v1/admin/checkins", "/api/v1/work-orders"):
        names = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert "before_id" in names
    export = spec["paths"]["/api/v1/work-orders/export.csv"]["get"]["parameters"]
    assert "before_id" not in {p["name"] for p in export}

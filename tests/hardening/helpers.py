"""Helpers shared by the hardening tests: the OpenAPI document, objects in community A."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid

from sqlalchemy import select

from server import clock
from server.extensions import db
from tests.factories import jpeg_bytes, make_categories

METHODS = ("get", "post", "put", "patch", "delete")
IN_A1 = (34.73, 113.625)  # inside grid A1 of the test tree (tests/factories.make_tree)


def openapi(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(spec: dict):
    """(METHOD, path template, operation) for every operation in the document."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield method.upper(), path, op


def flask_rule_to_template(rule: str) -> str:
    return re.sub(r"<(?:[a-z_]+:)?([a-z_]+)>", r"{\1}", rule)


def min_role_of(app, method: str, template: str) -> str | None:
    """The `staff_required(min_role)` guarding a view, read from its wrapper (None if none)."""
    for rule in app.url_map.iter_rules():
        if flask_rule_to_template(rule.rule) != template or method not in rule.methods:
            continue
        view = app.view_functions[rule.endpoint]
        func = getattr(getattr(view, "view_class", None), method.lower(), view)
        while func is not None:
            code = getattr(func, "__code__", None)
            if code is not None and "min_role" in code.co_freevars and func.__closure__:
                cell = func.__closure__[code.co_freevars.index("min_role")]
                return cell.cell_contents
            func = getattr(func, "__wrapped__", None)
    return None


def upload_photo(client, auth) -> int:
    body = {"file": (io.BytesIO(jpeg_bytes()), "photo.jpg")}
    response = client.post(
        "/api/v1/uploads", data=body, headers=auth, content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def file_report(client, units, auth, description: str, where=IN_A1, **extra) -> dict:
    """A report filed through the API in grid A1 (so a work order in community A)."""
    cats = make_categories(units["S1"])
    body = {
        "category_id": cats["dumping"].id,
        "description": description,
        "lat": where[0],
        "lng": where[1],
        "address": "淮河路 12 号",
        "photo_ids": [upload_photo(client, auth)],
        **extra,
    }
    headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
    response = client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def binding_id_of(user_id: int) -> int:
    from server.org.models import StaffBinding

    return db.session.execute(
        select(StaffBinding.id).where(StaffBinding.user_id == user_id)
    ).scalar_one()


def future_activity(unit, **values):
    from tests.activities.helpers import make_activity

    start = clock.utcnow().replace(microsecond=0) + dt.timedelta(days=3)
    fields = {"starts_at": start, "ends_at": start + dt.timedelta(hours=2)}
    fields.update(values)
    return make_activity(unit, **fields)

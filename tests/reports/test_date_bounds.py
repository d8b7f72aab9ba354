"""Dates and times at the calendar's edges are refused as validation errors (422), never a
500: the work-order list, its CSV export and the statistics take a day's Shanghai midnight
to UTC and add a day, which overflows at 0001-01-01 and 9999-12-31; a hold's end with an
offset of ±14:00 in year 1 or 9999 overflows when taken to UTC."""

from __future__ import annotations

import pytest

DAY_FILTERS = ["/api/v1/work-orders", "/api/v1/work-orders/export.csv", "/api/v1/admin/stats"]


@pytest.mark.parametrize("url", DAY_FILTERS)
@pytest.mark.parametrize(
    "query",
    [
        "date_from=0001-01-01",
        "date_to=0001-01-01",
        "date_to=9999-12-31",
        "date_from=9999-12-31",
        "date_from=1999-12-31",
        "date_to=2100-01-01",
    ],
)
def test_day_filters_outside_2000_2099_are_422(client, login, url, query):
    response = client.get(f"{url}?{query}", headers=login("community_admin", "A"))
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "validation_error"
    field = query.split("=")[0]
    assert body["details"]["errors"]["query"][field] == [
        "日期超出有效范围（2000–2099 年），请检查后重试"
    ]


@pytest.mark.parametrize("url", DAY_FILTERS)
def test_day_filters_at_the_bounds_are_accepted(client, login, url):
    response = client.get(
        f"{url}?date_from=2000-01-01&date_to=2099-12-31", headers=login("community_admin", "A")
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "1999-12-31T23:59:59+08:00",
        "2100-01-01T00:00:00+08:00",
    ],
)
def test_hold_until_outside_2000_2099_is_422(order_in, act, team, value):
    order_id, _ = order_in("in_progress")
    response = act(
        team["worker_a1"], order_id, "hold", expect=422, note="等待供电部门", hold_until=value
    )
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["details"]["errors"]["json"]["hold_until"] == [
        "时间超出有效范围（2000–2099 年），请检查后重试"
    ]


def test_hold_until_still_needs_an_offset(order_in, act, team):
    order_id, _ = order_in("in_progress")
    response = act(
        team["worker_a1"],
        order_id,
        "hold",
        expect=422,
        note="等待供电部门",
        hold_until="2099-01-01T00:00:00",
    )
    body = response.get_json()
    assert body["code"] == "validation_error" and "hold_until" in body["details"]["errors"]["json"]
    # at the top of the range, converted to UTC, it is simply too far ahead (the domain rule)
    far = act(
        team["worker_a1"],
        order_id,
        "hold",
        expect=422,
        note="等待供电部门",
        hold_until="2099-12-31T23:59:59-14:00",
    )
    assert far.get_json()["code"] == "work_order.invalid_hold_until"

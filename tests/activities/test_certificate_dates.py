"""A certificate's period outside 2000–2099 is a validation error (422), never a 500: the
period's Shanghai midnights are taken to UTC (before year 1 at 0001-01-01) and a day is
added to its end (past year 9999 at 9999-12-31)."""

from __future__ import annotations

import pytest

MESSAGE = "日期超出有效范围（2000–2099 年），请检查后重试"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=0001-01-01&to=0001-01-02", "from"),
        ("from=2026-01-01&to=9999-12-31", "to"),
        ("from=1999-12-31&to=2000-01-31", "from"),
        ("to=2100-01-01", "to"),
    ],
)
def test_certificate_period_outside_2000_2099_is_422(client, units, login, query, field):
    response = client.get(f"/api/v1/me/service-hours/certificate?{query}", headers=login("rider"))
    assert response.status_code == 422, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert body["details"]["errors"]["query"][field] == [MESSAGE]


def test_certificate_period_at_the_bounds_reaches_the_domain_rules(client, units, login):
    rider = login("rider")
    whole = client.get(
        "/api/v1/me/service-hours/certificate?from=2000-01-01&to=2099-12-31", headers=rider
    )
    assert (whole.status_code, whole.get_json()["code"]) == (422, "certificate.invalid_period")
    first = client.get(
        "/api/v1/me/service-hours/certificate?from=2000-01-01&to=2000-12-31", headers=rider
    )
    assert (first.status_code, first.get_json()["code"]) == (404, "certificate.no_hours")

"""The work-order list's state filter takes one state or several (the parameter repeated):
待派单 in the mini-program is `received` and `returned` (a grid sent it back), still only
within the caller's scope."""

from __future__ import annotations

from tests.reports.conftest import IN_B1


def _ids(client, auth, query: str) -> set[int]:
    response = client.get(f"/api/v1/work-orders?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["items"]}


def _order_of(client, auth, body) -> int:
    detail = client.get(f"/api/v1/reports/{body['report']['id']}", headers=auth).get_json()
    return detail["work_order_id"]


def test_several_states_within_scope(client, login, order_in, file_report, team):
    received, _ = order_in("received")
    returned, _ = order_in("returned")
    dispatched, _ = order_in("dispatched")
    street = team["street"]
    # a received order of community B: the street sees it, community A's admin does not
    elsewhere = _order_of(client, street, file_report(login("rider"), where=IN_B1))
    admin = team["admin_a"]

    queue = _ids(client, admin, "state=received&state=returned&page_size=100")
    assert queue == {received, returned}
    assert _ids(client, street, "state=received&state=returned&page_size=100") == {
        received,
        returned,
        elsewhere,
    }
    # the single-value form is unchanged
    assert _ids(client, admin, "state=received") == {received}
    assert _ids(client, admin, "state=dispatched") == {dispatched}
    csv = client.get("/api/v1/work-orders/export.csv?state=received&state=returned", headers=admin)
    assert csv.status_code == 200
    assert csv.get_data(as_text=True).count("\n") == 3  # header + the two


def test_an_unknown_state_among_them_is_a_422(client, team):
    response = client.get("/api/v1/work-orders?state=received&state=lost", headers=team["street"])
    assert response.status_code == 422, response.get_json()


def test_the_document_says_state_repeats(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    params = spec["paths"]["/api/v1/work-orders"]["get"]["parameters"]
    state = next(p for p in params if p["name"] == "state")
    assert state["schema"]["type"] == "array"
    assert "returned" in state["schema"]["items"]["enum"]
    assert state.get("explode", True) is True  # form style: `state=a&state=b`

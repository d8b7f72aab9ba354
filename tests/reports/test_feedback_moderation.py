"""Text every citizen is shown goes through WeChat's check first: the rating comment (a public
timeline note) and the free-text address of a report."""

from __future__ import annotations

import pytest

from server.reports.models import ReportEvent, WorkOrder
from tests.reports.conftest import IN_A2


def _feedback(client, db, order_id, reporter, **body):
    report_id = db.session.get(WorkOrder, order_id).report_id
    url = f"/api/v1/reports/{report_id}/feedback"
    return report_id, client.post(url, json={"stars": 1, **body}, headers=reporter)


def _notes(client, report_id, auth):
    view = client.get(f"/api/v1/reports/{report_id}", headers=auth).get_json()
    return [e["note"] for e in view["timeline"] if e["note"]]


@pytest.mark.parametrize("fixed", [True, False])
def test_a_risky_feedback_comment_is_refused(order_in, client, db, login, fixed):
    order_id, reporter = order_in("resolved")
    report_id, response = _feedback(
        client, db, order_id, reporter, fixed=fixed, comment="[risky] 违规内容"
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["code"] == "report.feedback_comment_risky"
    db.session.expire_all()
    assert db.session.get(WorkOrder, order_id).state == "resolved"  # nothing changed
    assert not any("[risky]" in n for n in _notes(client, report_id, login("resident")))


@pytest.mark.parametrize("fixed", [True, False])
def test_a_comment_under_review_stays_off_the_public_timeline(
    order_in, client, db, login, team, fixed
):
    order_id, reporter = order_in("resolved")
    comment = "处理不彻底 [review]"
    report_id, response = _feedback(client, db, order_id, reporter, fixed=fixed, comment=comment)
    assert response.status_code == 200, response.get_json()
    assert comment not in _notes(client, report_id, login("resident"))
    # the reporter still sees their rating, staff see the comment on the event
    mine = client.get(f"/api/v1/reports/{report_id}", headers=reporter).get_json()
    assert mine["feedback"]["comment"] == comment
    action = "feedback" if fixed else "reopen"
    event = db.session.query(ReportEvent).filter_by(report_id=report_id, action=action).one()
    assert event.note is None
    assert event.data["comment"] == comment
    assert event.data["comment_moderation"] == "review"


def test_a_clean_comment_is_shown(order_in, client, db, login):
    order_id, reporter = order_in("resolved")
    report_id, response = _feedback(
        client, db, order_id, reporter, fixed=True, comment="  处理及时，谢谢  "
    )
    assert response.status_code == 200, response.get_json()
    assert "处理及时，谢谢" in _notes(client, report_id, login("resident"))


def test_a_risky_address_holds_the_report_like_a_risky_description(
    file_report, login, client, cats
):
    body = file_report(
        login("resident"), where=IN_A2, description="路边有垃圾", address="[risky] 违规内容"
    )["report"]
    assert body["moderation"] == "risky"
    other = login("resident")
    assert client.get(f"/api/v1/reports/{body['id']}", headers=other).status_code == 404
    # nor is it shown as a possible duplicate's address
    near = client.get(
        "/api/v1/reports/nearby",
        query_string={"category_id": cats["dumping"].id, "lat": IN_A2[0], "lng": IN_A2[1]},
        headers=other,
    ).get_json()
    assert [d["id"] for d in near] == [body["id"]]
    assert near[0]["address"] is None


def test_a_clean_address_is_shown(file_report, login, client):
    body = file_report(login("resident"), where=IN_A2, address="淮河路 12 号")["report"]
    assert body["moderation"] == "pass"
    public = client.get(f"/api/v1/reports/{body['id']}", headers=login("resident")).get_json()
    assert public["address"] == "淮河路 12 号"

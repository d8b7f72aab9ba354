"""Who reads a report as staff: the units its work order is with now — not where it was
filed — and, on the timeline, photos only with the note they go with."""

from __future__ import annotations

import pytest

from server.extensions import db
from server.reports.models import Report, WorkOrder
from server.uploads.models import Upload
from tests.hardening.helpers import file_report as file_via_api

P = "/api/v1"
SECRET = "B内部：联系人 13800138000"


@pytest.fixture
def moved(client, units, login):
    """An anonymous report filed in community A, moved by the street to B, where B's admin
    reassigns it with a staff-only note."""
    reporter = login("resident", "A", display_name="王女士")
    body = file_via_api(client, units, reporter, "楼道私拉电线", anonymous=True)
    report_id = body["report"]["id"]
    order_id = db.session.query(WorkOrder).filter_by(report_id=report_id).one().id
    street = login("street_admin", "S1")
    moved_to_b = client.post(
        f"{P}/work-orders/{order_id}/dispatch", json={"unit_id": units["B"].id}, headers=street
    )
    assert moved_to_b.status_code == 200, moved_to_b.get_json()
    admin_b, worker_b1 = login("community_admin", "B"), login("grid_worker", "B1")
    reassigned = client.post(
        f"{P}/work-orders/{order_id}/reassign",
        json={"assignee_id": worker_b1.user_id, "note": SECRET},
        headers=admin_b,
    )
    assert reassigned.status_code == 200, reassigned.get_json()
    return report_id, order_id


@pytest.mark.parametrize("who", [("community_admin", "A"), ("grid_worker", "A1")])
def test_the_community_an_order_was_moved_from_reads_the_report_as_the_public(
    client, login, moved, who
):
    report_id, order_id = moved
    auth = login(*who)
    assert client.get(f"{P}/work-orders/{order_id}", headers=auth).status_code == 404
    view = client.get(f"{P}/reports/{report_id}", headers=auth).get_json()
    assert view["viewer"] == "public"
    assert "id" not in view["reporter"] and view["reporter"].get("name") != "王女士"
    assert SECRET not in str(view)
    for staff in (login("community_admin", "B"), login("street_admin", "S1")):  # still theirs
        theirs = client.get(f"{P}/reports/{report_id}", headers=staff).get_json()
        assert theirs["viewer"] == "staff" and SECRET in str(theirs)


def test_nor_does_it_comment_as_staff_or_moderate(client, login, moved):
    report_id, _ = moved
    comment = client.post(
        f"{P}/reports/{report_id}/comments",
        json={"text": "请提供门牌号", "photo_ids": []},
        headers=login("grid_worker", "A1"),
    )
    assert comment.status_code in (403, 404), comment.get_json()
    db.session.get(Report, report_id).moderation = "review"
    db.session.commit()
    decided = client.post(
        f"{P}/admin/reports/{report_id}/moderation",
        json={"decision": "approve"},
        headers=login("community_admin", "A"),
    )
    assert decided.status_code == 404, decided.get_json()
    assert db.session.get(Report, report_id).moderation == "review"
    ours = client.post(
        f"{P}/admin/reports/{report_id}/moderation",
        json={"decision": "approve"},
        headers=login("community_admin", "B"),
    )
    assert ours.status_code == 200, ours.get_json()


def test_a_photo_goes_with_its_note_on_the_timeline(order_in, act, team, upload, client, login):
    """A hold's photo (staff only, like its note) and the 回访 record's (the reporter's) are
    not shown to other citizens once WeChat passes them; the result's photo is."""
    from tests.reports.conftest import soon

    order_id, reporter = order_in("accepted")
    worker, admin = team["worker_a1"], team["admin_a"]
    hold_photo = upload(worker)
    act(worker, order_id, "hold", note="等业主张某回来", hold_until=soon(), photo_ids=[hold_photo])
    act(worker, order_id, "resume")
    result_photo = upload(worker)
    act(worker, order_id, "resolve", note="已清理", photo_ids=[result_photo])
    close_photo = upload(admin)
    act(admin, order_id, "close", note="电话回访 王女士（3栋502）", photo_ids=[close_photo])
    db.session.query(Upload).update({"moderation": "pass"})  # WeChat passed every photo
    db.session.commit()
    report_id = db.session.get(WorkOrder, order_id).report_id

    def photos(auth) -> dict[str, list[int]]:
        view = client.get(f"{P}/reports/{report_id}", headers=auth).get_json()
        return {e["action"]: [p["id"] for p in e["photos"]] for e in view["timeline"]}

    public = photos(login("resident", "C"))
    assert (public["hold"], public["close"], public["resolve"]) == ([], [], [result_photo])
    own = photos(reporter)
    assert (own["hold"], own["close"], own["resolve"]) == ([], [close_photo], [result_photo])
    staff = photos(admin)
    assert (staff["hold"], staff["close"]) == ([hold_photo], [close_photo])

"""Helpers for activity tests: an activity straight in the database, scanning on site."""

from __future__ import annotations

import datetime as dt
import threading

from server.activities.models import Activity
from server.clock import utcnow
from server.extensions import db
from server.stations.scenes import make_scene, new_secret

START = dt.datetime(2026, 6, 6, 1, 0)  # 09:00 Shanghai
END = START + dt.timedelta(hours=2)


def make_activity(unit, **values) -> Activity:
    """A published activity in `unit`, at the unit's centre, 09:00–11:00 on 2026-06-06."""
    fields = {
        "org_unit_id": unit.id,
        "title": "红骑手公益课堂：交通安全",
        "kind": "public_class",
        "place": "淮北街社区党群服务中心",
        "lat": unit.center_lat,
        "lng": unit.center_lng,
        "radius_m": 200,
        "starts_at": START,
        "ends_at": END,
        "capacity": 5,
        "status": "published",
        "qr_secret": new_secret(),
        "published_at": utcnow(),
    }
    fields.update(values)
    activity = Activity(**fields)
    db.session.add(activity)
    db.session.commit()
    return activity


def scene_of(activity: Activity) -> str:
    return make_scene("a", activity.id, activity.qr_secret)


def scan(client, auth, activity, *, lat=None, lng=None, accuracy=10, scene=None):
    return client.post(
        "/api/v1/activities/attendance",
        json={
            "scene": scene or scene_of(activity),
            "lat": activity.lat if lat is None else lat,
            "lng": activity.lng if lng is None else lng,
            "accuracy": accuracy,
        },
        headers=auth,
    )


def run_threads(app, targets) -> list:
    """Run each callable (taking a test client) in its own thread and app context at once."""
    results: list = [None] * len(targets)
    barrier = threading.Barrier(len(targets))

    def worker(index, target):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                results[index] = target(client)
            except Exception as exc:  # surfaced by the assertions
                results[index] = exc
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=worker, args=(i, target)) for i, target in enumerate(targets)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def enrolled(client, login, activity, role="rider"):
    """A new user of `role`, enrolled (not waitlisted) in `activity`: their auth headers."""
    auth = login(role)
    response = client.post(f"/api/v1/activities/{activity.id}/enrolments", headers=auth)
    assert response.get_json()["status"] == "enrolled"
    return auth

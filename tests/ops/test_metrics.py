"""/metrics: request count/latency by URL rule, domain counters, gauges computed at scrape."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from rq import Queue

from server.extensions import get_raw_redis
from server.ops import metrics


def _samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_are_counted_by_url_rule_not_raw_path(client, login, units):
    before = _samples(client)
    auth = login("rider")
    for unit in ("A", "B"):
        assert client.get(f"/api/v1/org-units/{units[unit].id}", headers=auth).status_code == 200
    assert client.get("/api/v1/no-such-thing").status_code == 404
    after = _samples(client)

    rule = "/api/v1/org-units/<int:unit_id>"
    key = {"endpoint": rule, "method": "GET", "status": "200"}
    assert (
        _value(after, "fengchao_http_requests_total", **key)
        - _value(before, "fengchao_http_requests_total", **key)
        == 2
    )
    latency = {"endpoint": rule, "method": "GET"}
    assert (
        _value(after, "fengchao_http_request_duration_seconds_count", **latency)
        - _value(before, "fengchao_http_request_duration_seconds_count", **latency)
        == 2
    )
    unmatched = {"endpoint": "<unmatched>", "method": "GET", "status": "404"}
    assert _value(after, "fengchao_http_requests_total", **unmatched) >= 1
    # raw paths never become label values
    assert not any(f"/api/v1/org-units/{units['A'].id}" in str(k) for k in after)


def test_domain_counters_are_exported(client):
    before = _samples(client)
    metrics.CHECKINS.labels(outcome="ok").inc()
    metrics.CHECKINS.labels(outcome="checkin.out_of_range").inc(2)
    metrics.REPORTS.labels(event="submitted").inc()
    metrics.NOTIFICATIONS_FAILED.labels(kind="work_order_assigned", reason="43101").inc()
    after = _samples(client)
    delta = lambda name, **labels: _value(after, name, **labels) - _value(before, name, **labels)  # noqa: E731
    assert delta("fengchao_checkins_total", outcome="ok") == 1
    assert delta("fengchao_checkins_total", outcome="checkin.out_of_range") == 2
    assert delta("fengchao_report_events_total", event="submitted") == 1
    assert (
        _value(
            after, "fengchao_notifications_failed_total", kind="work_order_assigned", reason="43101"
        )
        == 1
    )


def test_wechat_errors_are_counted_by_path_and_errcode(client):
    from server.wechat.errors import WeChatError, WeChatUnavailable

    metrics.record_wechat_error(
        WeChatError(43101, "user refuse", path="/cgi-bin/message/subscribe/send")
    )
    metrics.record_wechat_error(
        WeChatError(43101, "user refuse", path="/cgi-bin/message/subscribe/send")
    )
    metrics.record_wechat_error(WeChatUnavailable(None, "timed out", path="/sns/jscode2session"))
    samples = _samples(client)
    assert (
        _value(
            samples,
            "fengchao_wechat_api_errors_total",
            path="/cgi-bin/message/subscribe/send",
            errcode="43101",
        )
        == 2
    )
    assert (
        _value(
            samples,
            "fengchao_wechat_api_errors_total",
            path="/sns/jscode2session",
            errcode="network",
        )
        == 1
    )


def test_redis_counter_refuses_wrong_labels():
    import pytest

    with pytest.raises(ValueError):
        metrics.WECHAT_API_ERRORS.labels(path="/x")


def test_queue_depth_is_read_at_scrape_time(client):
    queue = Queue(metrics._queue_names()[0], connection=get_raw_redis())
    queue.enqueue("os.getcwd")
    queue.enqueue("os.getcwd")
    samples = _samples(client)
    assert _value(samples, "fengchao_queue_depth", queue=queue.name) == 2
    assert _value(samples, "fengchao_queue_failed_jobs", queue=queue.name) == 0


def test_state_gauges_count_existing_tables_and_skip_missing_ones(client, db, monkeypatch):
    from sqlalchemy import inspect

    present = [g for g in metrics.DomainCollector.GAUGES if inspect(db.engine).has_table(g[2])]
    gauges = (
        *metrics.DomainCollector.GAUGES,
        ("fengchao_not_yet_built", "A domain that has not landed.", "no_such_table", "state"),
    )
    monkeypatch.setattr(metrics.DomainCollector, "GAUGES", gauges)
    text = client.get("/metrics").get_data(as_text=True)
    assert "fengchao_not_yet_built" not in text
    for name, *_ in present:
        assert f"# TYPE {name} gauge" in text


def test_notifications_by_status_gauge(client, db, login):
    from server.notifications.models import Notification

    auth = login("rider")
    db.session.add(
        Notification(user_id=auth.user_id, status="failed", kind="test", title="t", body="b")
    )
    db.session.commit()
    samples = _samples(client)
    assert _value(samples, "fengchao_notifications", status="failed") == 1


def test_multiprocess_mode_adds_up_worker_files(app, tmp_path, monkeypatch):
    """Under gunicorn each worker writes files; render() reads them all."""
    import subprocess
    import sys

    script = (
        "from prometheus_client import Counter\n"
        "c = Counter('fengchao_probe', 'probe', ['w'])\n"
        "c.labels(w='x').inc(3)\n"
    )
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for _ in range(2):  # two "workers"
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = metrics.render().decode()
    assert 'fengchao_probe_total{w="x"} 6.0' in text
    assert "fengchao_queue_depth" in text  # the scrape-time gauges still come along


def test_made_up_methods_share_one_label(client):
    """Any token is an HTTP method: a scanner's inventions must not grow the label set."""
    before = _samples(client)
    for method in ("BREW", "PROPFIND", "XYZZY"):
        assert client.open("/api/v1/org-units", method=method).status_code == 405
    after = _samples(client)
    key = {"endpoint": "<unmatched>", "method": "other", "status": "405"}
    counted = _value(after, "fengchao_http_requests_total", **key)
    assert counted - _value(before, "fengchao_http_requests_total", **key) == 3
    assert not any("BREW" in str(k) or "XYZZY" in str(k) for k in after)


def test_official_account_messages_given_up_are_counted(client, db):
    """A resident's message the inbox job gave up on is what an operator must see."""
    from server.reports.models import WeChatInbound

    db.session.add_all(
        [
            WeChatInbound(
                dedupe_key="m1", openid="o1", msg_type="text", payload={}, status="failed"
            ),
            WeChatInbound(dedupe_key="m2", openid="o1", msg_type="text", payload={}, status="done"),
        ]
    )
    db.session.commit()
    samples = _samples(client)
    assert _value(samples, "fengchao_wechat_inbound", status="failed") == 1
    assert _value(samples, "fengchao_wechat_inbound", status="done") == 1


def test_table_gauges_are_counted_once_for_every_scrape_within_their_cache(client, db, login):
    """Each scrape of each node ran a GROUP BY over notifications (millions of rows): one
    count now serves them all for GAUGE_CACHE_S, and the next after it counts again."""
    from server.extensions import get_redis
    from server.notifications.models import Notification
    from tests.factories import recorded_statements

    auth = login("rider")
    db.session.add(
        Notification(user_id=auth.user_id, status="failed", kind="test", title="t", body="b")
    )
    db.session.commit()

    def counts() -> list[str]:
        return [s for s in sent if "GROUP BY" in s and "notifications" in s]

    with recorded_statements() as sent:
        first, second = _samples(client), _samples(client)
        assert len(counts()) == 1
        assert _value(first, "fengchao_notifications", status="failed") == 1
        assert _value(second, "fengchao_notifications", status="failed") == 1
        key = "metrics:gauge:notifications:status"
        assert 0 < get_redis().ttl(key) <= metrics.GAUGE_CACHE_S
        db.session.add(
            Notification(user_id=auth.user_id, status="failed", kind="test", title="t", body="b")
        )
        db.session.commit()
        get_redis().delete(key)  # the cache ran out
        assert _value(_samples(client), "fengchao_notifications", status="failed") == 2
        assert len(counts()) == 2

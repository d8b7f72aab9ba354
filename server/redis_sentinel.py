"""Redis through Sentinel: `REDIS_URL=redis+sentinel://[[user]:password@]host:port[,…]/name[/db]`.

A city's installation runs Redis with a replica and Sentinel (deploy/README.md): when the
master dies, the sentinels promote the replica, and every client must find the new master
by itself — a fixed `redis://` address would keep pointing at the dead one until someone
edits the configuration and restarts every node. With this form of `REDIS_URL` the app,
the RQ workers and the rate limiter ask the sentinels for the master (redis-py's
`redis.sentinel`, the `limits` library's `redis+sentinel` storage) and follow a failover
on the next connection: a command that meets the dead master or a demoted one
(READONLY) fails over to the new master through redis-py's retry.

The scheme and the hosts-then-service layout are the `limits` library's; `/db` after the
service name is ours (limits takes the database as an option, which `limiter_options`
gives it). The user name and password, when given, are sent to the sentinels and to Redis
alike, as `limits` does: configure both with the same (`requirepass` or an ACL user on
Redis and on the sentinels), or none. Anything the URL could say that is not read here (a
query string, a user without a password) is refused at start rather than ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SCHEME = "redis+sentinel"
# Asking a sentinel which server is the master must not hang a request: a dead sentinel
# is skipped after this and the next one asked.
SENTINEL_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class SentinelUrl:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None
    username: str | None = None

    def auth(self) -> dict:
        """redis-py's (and limits') credentials, for the sentinels and Redis alike."""
        given = {"username": self.username, "password": self.password}
        return {name: value for name, value in given.items() if value}

    def limiter_uri(self) -> str:
        """The same sentinels and service in the form the limits library reads; the
        database and password go in `limiter_options` (limits would pass a password from
        its URI still percent-encoded)."""
        hosts = ",".join(
            f"[{host}]:{port}" if ":" in host else f"{host}:{port}" for host, port in self.sentinels
        )
        return f"{SCHEME}://{hosts}/{self.service}"

    def limiter_options(self) -> dict:
        """limits' storage options: the database, the master for every read (a replica's
        counts lag), the sentinels' timeouts, the password (for both, as limits does)."""
        return {
            "db": self.db,
            "use_replicas": False,
            "sentinel_kwargs": _timeouts(),
            **self.auth(),
        }


def _timeouts() -> dict:
    return {"socket_timeout": SENTINEL_TIMEOUT_S, "socket_connect_timeout": SENTINEL_TIMEOUT_S}


def is_sentinel_url(url: str | None) -> bool:
    return bool(url) and url.lower().startswith(SCHEME + "://")


def parse(url: str) -> SentinelUrl:
    """The sentinels, service name, database and password of a `redis+sentinel://` URL;
    ValueError with what is wrong, in the operator's terms."""
    parts = urlsplit(url)
    form = f"{SCHEME}://[[user]:password@]host:port[,host:port…]/service[/db]"
    if parts.query or parts.fragment:
        raise ValueError(f"REDIS_URL: options after '?' are not read; leave them out ({form})")
    netloc = parts.netloc
    username = password = None
    if "@" in netloc:
        auth, netloc = netloc.rsplit("@", 1)
        user, colon, secret = auth.partition(":")
        if not colon or not secret:
            raise ValueError(f"REDIS_URL: write the password as ':password@' ({form})")
        username, password = unquote(user) or None, unquote(secret)
    sentinels = []
    for location in filter(None, (item.strip() for item in netloc.split(","))):
        host, sep, port = location.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"REDIS_URL: sentinel '{location}' is not host:port ({form})")
        sentinels.append((host.strip("[]"), int(port)))
    if not sentinels:
        raise ValueError(f"REDIS_URL names no sentinel ({form})")
    path = [segment for segment in parts.path.split("/") if segment]
    if not path or len(path) > 2:
        raise ValueError(f"REDIS_URL needs the service name the sentinels monitor ({form})")
    db = path[1] if len(path) == 2 else "0"
    if not db.isdigit():
        raise ValueError(f"REDIS_URL: database '{db}' is not a number ({form})")
    return SentinelUrl(tuple(sentinels), unquote(path[0]), int(db), password, username)


def clients(url: str, **options):
    """(decoded client, bytes client) on the master the sentinels name, both following it
    through a failover."""
    from redis.sentinel import Sentinel

    settings = parse(url)
    auth = settings.auth()
    sentinel = Sentinel(list(settings.sentinels), sentinel_kwargs={**_timeouts(), **auth})
    common = {"db": settings.db, **auth, **options}
    return (
        sentinel.master_for(settings.service, decode_responses=True, **common),
        sentinel.master_for(settings.service, **common),
    )

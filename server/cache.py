"""Per-process copies of rows that are read on every request and change rarely.

Stations (check-in, nearby) and earning rules (every award) are read far more often than
they change. A `VersionedCache` keeps them in each worker's memory, and a version token in
Redis says whether those copies are current:

- Any ORM flush that touches one of the cache's models, once its transaction commits,
  writes a new random token (`SET cache:ver:<name> <uuid>`). Every process sees the new
  token on its next request and drops its copies, so an edit is visible everywhere on the
  request after its commit.
- A request reads the token in a pipeline it already makes (`add_version_read`) and hands
  the answer to `sync()`; no extra round trip.
- No token (a Redis flush): the process keeps nothing until a token is set again (the
  first reader sets one with `SET NX`).
- Copies are reloaded after `MAX_AGE_S` in any case, so an announcement lost to a Redis
  outage leaves a worker stale for minutes at most. Where minutes matter (a rotated QR
  secret, a deactivated station), the view calls `ensure_announced()` after its commit:
  it tries once more and answers 503 when the other workers still cannot be told.

Changes made with Core statements bypass the ORM events: call `changed()` after them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from flask import has_request_context, request
from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from server.extensions import get_redis, in_savepoint

log = logging.getLogger(__name__)

# Copies older than this are reloaded even if no change was announced (an announcement
# lost to a Redis outage cannot leave a worker stale for longer).
MAX_AGE_S = 300
_PENDING = "fengchao_cache_changes"
_UNANNOUNCED = "fengchao_cache_unannounced"  # names whose new token Redis did not take
_ALL = object()  # marks a cache holding the whole table
_REGISTRY: dict[str, VersionedCache] = {}


class VersionedCache:
    def __init__(self, name: str, models: Iterable[type], preload: Callable[[], Any] | None = None):
        """`preload`: fills the cache (for `warm`), if it is worth filling ahead of use."""
        self.name = name
        self.preload = preload
        self.key = f"cache:ver:{name}"
        self.models = tuple(models)
        self._lock = threading.Lock()
        self._version: str | None = None
        self._data: dict[Hashable, Any] = {}
        self._since = 0.0
        self._synced = f"_fengchao_cache_{name}"
        _REGISTRY[name] = self

    # -- reading
    def add_version_read(self, pipe) -> None:
        pipe.get(self.key)

    def sync(self, version: str | None) -> None:
        """Adopt the version token a request read; drop the copies if it changed."""
        if has_request_context():
            setattr(request, self._synced, True)
        if version is None:  # none yet (a new or flushed Redis): publish one, adopt the winner
            version = self._first_version()
        with self._lock:
            now = time.monotonic()
            if version != self._version or now - self._since > MAX_AGE_S:
                self._data = {}
                self._version = version
                self._since = now

    def _first_version(self) -> str:
        """The token Redis holds once ours is offered (SET NX): every process racing here
        adopts the same one, before loading anything, so what it loads next is kept.
        Before, a process adopted "no version" and kept nothing it loaded until its next
        look — gunicorn's master reloaded the 10,000 stations at its next fork, ≈2 s while
        the workers recycled at that moment had no successor (bench/README.md)."""
        pipe = get_redis().pipeline(transaction=False)
        pipe.set(self.key, uuid.uuid4().hex, nx=True)
        pipe.get(self.key)
        _, token = pipe.execute()
        return token

    def refresh(self) -> None:
        """Read the version token on its own (a path with no pipeline to share)."""
        self.sync(get_redis().get(self.key))

    def ensure_fresh(self) -> None:
        """Check the version once per request (every time outside a request)."""
        if not (has_request_context() and getattr(request, self._synced, False)):
            self.refresh()

    def get_many(
        self, keys: Iterable[Hashable], load: Callable[[list], dict[Hashable, Any]]
    ) -> dict[Hashable, Any]:
        """The values for these keys: kept copies, the rest from `load(missing)`."""
        data = self._data
        found = {k: data[k] for k in keys if k in data}
        missing = [k for k in keys if k not in found]
        if missing:
            loaded = load(missing)
            found.update(loaded)
            if self._version is not None and data is self._data:
                data.update(loaded)
                for k in missing:  # remember absence too (unknown ids)
                    data.setdefault(k, None)
        return found

    def everything(self, load_all: Callable[[], dict[Hashable, Any]]) -> dict[Hashable, Any]:
        """The whole table at once, loaded once per version (for sets read at random)."""
        data = self._data
        table = data.get(_ALL)
        if table is None:
            table = load_all()
            if self._version is not None and data is self._data:
                data[_ALL] = table
        return table

    def get(self, key: Hashable, load: Callable[[list], dict[Hashable, Any]]) -> Any:
        return self.get_many([key], load).get(key)

    # -- writing
    def changed(self) -> None:
        token = uuid.uuid4().hex
        get_redis().set(self.key, token)
        with self._lock:
            self._data = {}
            self._version = token


def warm(app) -> list[str]:
    """Bring every preloadable cache up to date in this process, then close its database
    connections. gunicorn's master runs it before each fork (deploy/gunicorn.conf.py), so a
    new or recycled worker starts with the copies warm — current ones only (the version
    token was read here; a change after it is seen by the worker's first request) — instead
    of loading ≈10,000 stations while a rider waits. Another app served with the same
    settings (the bench's reference app) has nothing to warm."""
    from server.extensions import db

    if "sqlalchemy" not in app.extensions or app.extensions["sqlalchemy"] is not db:
        return []
    warmed = []
    with app.app_context():
        try:
            for name, cache in _REGISTRY.items():
                if cache.preload is not None:
                    cache.refresh()
                    cache.preload()
                    warmed.append(name)
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()  # the master keeps no connections for its forks
    return warmed


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    touched = (*session.new, *session.dirty, *session.deleted)
    if not touched:
        return
    for name, cache in _REGISTRY.items():
        if any(isinstance(obj, cache.models) for obj in touched):
            session.info.setdefault(_PENDING, set()).add(name)


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    if in_savepoint(session):
        return
    names = session.info.pop(_PENDING, None)
    if not names:
        return
    try:
        _announce(names)
    except RedisError:  # the change is committed; other workers' copies age out
        log.error("cache: could not publish changes to %s", ", ".join(sorted(names)))
        session.info.setdefault(_UNANNOUNCED, set()).update(names)


def _announce(names) -> None:
    pipe = get_redis().pipeline(transaction=False)
    for name in sorted(names):
        cache = _REGISTRY[name]
        token = uuid.uuid4().hex
        pipe.set(cache.key, token)
        with cache._lock:  # this process sees its own change at once, even mid-request
            cache._data = {}
            cache._version = token
    pipe.execute()


def ensure_announced(message: str) -> None:
    """After a commit whose change other workers must not miss for minutes: if its new
    version token did not reach Redis, try once more, and if Redis still refuses, 503 with
    `message` (the change itself is saved; the caller says so and what to do)."""
    from server.errors import DomainError
    from server.extensions import db

    names = db.session.info.pop(_UNANNOUNCED, None)
    if not names:
        return
    try:
        _announce(names)
    except RedisError:
        log.error("cache: still could not publish changes to %s", ", ".join(sorted(names)))
        raise DomainError("cache.not_announced", message, 503) from None


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    if in_savepoint(session):
        return
    session.info.pop(_PENDING, None)

"""The OpenAPI contract, enforced from what the app really answers while the suite runs.

Every response a Fengchao app in this process gives (the test client, the in-process fuzz,
requests made from threads) is recorded with its method, the URL rule it matched and its
status. At the end of the session the run fails, listing each (method, path, status) and one
test that produced it, when

- an operation of the OpenAPI document answered an error status (4xx/5xx) that is not among
  its documented responses (the catch-all `default` does not count), or
- anything at all answered 500.

Successes are declared by `@blp.response` already; answers of routes outside the document
(404 for an unknown URL, 405, the docs page, the signed media URLs, /wechat/callback) are
checked for 500 only. A test that
provokes such an answer on purpose says so, visibly:
`@pytest.mark.undocumented_status(500, reason="…")`; those answers are listed, not failed.

tests/conftest.py registers this plugin only when the session's rootdir is this repository,
so a conftest elsewhere doing `from tests.conftest import *` does not get it. Under
pytest-xdist every worker records its own responses and hands them to the controller, which
reports and fails the run; without xdist one process does both.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask, request, request_finished
from flask_smorest.spec.plugins import FlaskPlugin

PLUGIN_NAME = "fengchao-openapi-contract"
MARKER = "undocumented_status"
MARKER_HELP = (
    f"{MARKER}(*statuses, reason): the test provokes these statuses on purpose although the "
    "OpenAPI document does not list them (or a 500); tests/openapi_contract.py lists them "
    "instead of failing the run"
)
_WORKER_OUTPUT_KEY = "fengchao_openapi_contract"
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")

# (METHOD, OpenAPI path) -> the statuses the operation documents
Operations = Mapping[tuple[str, str], frozenset[int]]


def documented_operations(spec: Mapping[str, Any]) -> dict[tuple[str, str], frozenset[int]]:
    """Every operation of an OpenAPI document with its documented statuses (not `default`)."""
    operations = {}
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method in _HTTP_METHODS:
                statuses = operation.get("responses", {})
                operations[(method.upper(), path)] = frozenset(
                    int(status) for status in statuses if str(status).isdigit()
                )
    return operations


def violation(operations: Operations, method: str, path: str, status: int) -> str | None:
    """Why answering `status` to `method path` breaks the contract; None when it does not."""
    if status == 500:
        return "answered 500 (an unexpected error)"
    if status < 400:
        return None  # successes are declared by @blp.response
    documented = operations.get((method, path))
    if documented is None:
        return None  # not an operation of the document (unknown URL, docs page, callback)
    if status not in documented:
        listed = ", ".join(str(s) for s in sorted(documented)) or "none"
        return f"not among its documented responses ({listed})"
    return None


@dataclass
class Finding:
    reason: str
    test: str  # the first test that produced it
    count: int = 1
    codes: set[str] = field(default_factory=set)  # the envelopes' `code`s (a few)

    def add(self, code: str | None, count: int = 1) -> None:
        self.count += count
        if code and len(self.codes) < 5:
            self.codes.add(code)

    def describe(self) -> str:
        codes = f" [{', '.join(sorted(self.codes))}]" if self.codes else ""
        return f"{self.reason}{codes}; e.g. {self.test} (×{self.count})"


@dataclass
class ContractPlugin:
    """Records the session's answers (`observe`) and fails the run on undocumented ones."""

    answers: int = 0  # every answer of a Fengchao app
    errors: int = 0  # of which error statuses of a documented operation
    operations_seen: set[tuple[str, str]] = field(default_factory=set)
    violations: dict[tuple[str, str, int], Finding] = field(default_factory=dict)
    exempted: dict[tuple[str, str, int], Finding] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._documents: weakref.WeakKeyDictionary[Flask, Operations | None] = (
            weakref.WeakKeyDictionary()
        )
        self._item: pytest.Item | None = None

    # ----------------------------------------------------------------- recording

    def observe(
        self,
        operations: Operations,
        method: str,
        path: str,
        status: int,
        test: str,
        code: str | None = None,
        exempt: frozenset[int] = frozenset(),
        why: str = "",
    ) -> None:
        """One answer: `path` is the OpenAPI path of the matched rule (or the raw path),
        `code` the error envelope's; `exempt` the statuses the test's marker allows (`why`)."""
        reason = violation(operations, method, path, status)
        with self._lock:
            self.answers += 1
            if status >= 400 and (method, path) in operations:
                self.errors += 1
                self.operations_seen.add((method, path))
            if reason is None:
                return
            found = self.violations
            if status in exempt:
                found, reason = self.exempted, f"{reason}; marked: {why}"
            key = (method, path, status)
            if key in found:
                found[key].add(code)
            else:
                found[key] = Finding(reason, test)
                found[key].add(code, 0)

    def _operations_of(self, app: Flask) -> Operations | None:
        """The app's documented operations; None for an app that is not ours (the sandbox)."""
        try:
            return self._documents[app]
        except KeyError:
            pass
        from server.extensions import FengchaoApi

        apis = app.extensions.get("flask-smorest", {}).get("apis", {})
        api = next((entry["ext_obj"] for entry in apis.values()), None)
        operations = (
            documented_operations(api.spec.to_dict()) if isinstance(api, FengchaoApi) else None
        )
        self._documents[app] = operations
        return operations

    def _on_request_finished(self, app: Flask, response, **_: Any) -> None:
        operations = self._operations_of(app)
        if operations is None:
            return
        rule = request.url_rule
        path = FlaskPlugin.flaskpath2openapi(rule.rule) if rule is not None else request.path
        item = self._item
        exempt, why = frozenset(), ""
        if item is not None:
            test = item.nodeid
            marker = item.get_closest_marker(MARKER)
            if marker is not None:
                exempt, why = frozenset(marker.args), marker.kwargs["reason"]
        else:  # a session fixture's teardown, say
            test = os.environ.get("PYTEST_CURRENT_TEST", "(outside any test)")
        status = response.status_code
        code = None
        if status >= 400 and not response.is_streamed and response.is_json:
            body = response.get_json(silent=True)
            code = body.get("code") if isinstance(body, dict) else None
        self.observe(operations, request.method, path, status, test, code, exempt, why)

    # ----------------------------------------------------------------- pytest hooks

    def pytest_configure(self, config: pytest.Config) -> None:
        request_finished.connect(self._on_request_finished)  # every app, every thread

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        request_finished.disconnect(self._on_request_finished)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if self.violations and reporter is not None and not hasattr(config, "workerinput"):
            # the last word, under pytest's own "N passed" line
            reporter.write_line(
                f"FAILED: the OpenAPI contract: {len(self.violations)} undocumented answer(s), "
                "listed above",
                red=True,
                bold=True,
            )

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            for marker in item.iter_markers(MARKER):
                if not marker.args or not marker.kwargs.get("reason"):
                    raise pytest.UsageError(
                        f"{item.nodeid}: @pytest.mark.{MARKER} names the statuses and says why: "
                        f'@pytest.mark.{MARKER}(500, reason="…")'
                    )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem):
        self._item = item
        try:
            return (yield)
        finally:
            self._item = None

    def export(self) -> dict[str, Any]:
        """What an xdist worker hands to the controller (plain data)."""

        def rows(found):
            return [[*key, f.reason, f.test, f.count, sorted(f.codes)] for key, f in found.items()]

        return {
            "answers": self.answers,
            "errors": self.errors,
            "operations_seen": [list(op) for op in self.operations_seen],
            "violations": rows(self.violations),
            "exempted": rows(self.exempted),
        }

    def merge(self, data: Mapping[str, Any]) -> None:
        self.answers += data["answers"]
        self.errors += data["errors"]
        self.operations_seen.update(tuple(op) for op in data["operations_seen"])
        for name in ("violations", "exempted"):
            found = getattr(self, name)
            for method, path, status, reason, test, count, codes in data[name]:
                key = (method, path, status)
                if key not in found:
                    found[key] = Finding(reason, test, 0)
                found[key].add(None, count)
                for code in codes:
                    found[key].add(code, 0)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:  # xdist controller: a worker is done
        data = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT_KEY)
        if data:
            self.merge(data)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus) -> None:
        config = session.config
        if hasattr(config, "workeroutput"):  # an xdist worker: the controller decides
            config.workeroutput[_WORKER_OUTPUT_KEY] = self.export()
            return
        if self.violations and session.exitstatus in (pytest.ExitCode.OK, 0):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @staticmethod
    def lines(found: Mapping[tuple[str, str, int], Finding]) -> list[str]:
        return [
            f"{method} {path} -> {status}: {finding.describe()}"
            for (method, path, status), finding in sorted(found.items())
        ]

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if hasattr(config, "workerinput"):
            return
        tr = terminalreporter
        if self.exempted:
            tr.section(f"OpenAPI contract: provoked on purpose (@{MARKER})", sep="-")
            for line in self.lines(self.exempted):
                tr.line(line)
        if self.violations:
            tr.section("OpenAPI contract FAILED: undocumented answers", sep="=", red=True)
            for line in self.lines(self.violations):
                tr.line(line, red=True)
            tr.line(
                "Document each on its view (server/http.py `error_responses`, or "
                "@blp.alt_response(status, response=NAME)); a 500 is a bug to fix; a test "
                f"provoking one on purpose says so with @pytest.mark.{MARKER}(status, reason=…)."
            )
        tr.write_line(
            f"OpenAPI contract: {self.answers} answers recorded, {self.errors} error answers "
            f"of {len(self.operations_seen)} operations checked, "
            f"{len(self.violations)} undocumented"
        )

"""The OpenAPI contract check itself (tests/openapi_contract.py): it finds an undocumented
status, it is on in this repository's sessions and sees their answers, and a conftest
elsewhere that imports ours does not turn it on."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPOSITORY
from tests.hardening.helpers import openapi
from tests.openapi_contract import (
    MARKER,
    PLUGIN_NAME,
    ContractPlugin,
    documented_operations,
    violation,
)

THING = "/api/v1/things/{thing_id}"
SPEC = {
    "paths": {
        THING: {
            "parameters": [{"in": "path", "name": "thing_id"}],
            "get": {"responses": {"200": {}, "404": {}, "default": {}}},
        }
    }
}


def test_an_undocumented_error_status_is_a_violation():
    operations = documented_operations(SPEC)
    assert operations == {("GET", THING): frozenset({200, 404})}
    assert violation(operations, "GET", THING, 404) is None
    assert violation(operations, "GET", THING, 200) is None
    assert "not among its documented responses (200, 404)" in violation(
        operations, "GET", THING, 409
    )
    assert violation(operations, "GET", THING, 418)  # `default` documents nothing
    # not an operation of the document: only a 500 counts
    assert violation(operations, "POST", THING, 405) is None
    assert violation(operations, "GET", "/wechat/callback", 403) is None
    assert violation(operations, "GET", "/wechat/callback", 500)
    assert violation(operations, "GET", THING, 500)


def test_the_plugin_keeps_one_test_per_answer_and_gathers_workers():
    plugin = ContractPlugin()
    operations = documented_operations(SPEC)
    plugin.observe(operations, "GET", THING, 404, "t::documented", "not_found")
    plugin.observe(operations, "GET", THING, 409, "t::first", "thing.busy")
    plugin.observe(operations, "GET", THING, 409, "t::second", "thing.busy")
    plugin.observe(operations, "GET", THING, 500, "t::planted", None, frozenset({500}), "why")
    assert (plugin.answers, plugin.errors) == (4, 4)
    assert plugin.lines(plugin.violations) == [
        f"GET {THING} -> 409: not among its documented responses (200, 404) [thing.busy]; "
        "e.g. t::first (×2)"
    ]
    assert list(plugin.exempted) == [("GET", THING, 500)]
    # an xdist worker's findings, handed to the controller, read the same
    controller = ContractPlugin()
    controller.merge(plugin.export())
    controller.merge(plugin.export())
    assert controller.lines(controller.violations) == [
        f"GET {THING} -> 409: not among its documented responses (200, 404) [thing.busy]; "
        "e.g. t::first (×4)"
    ]
    assert controller.errors == 8


def test_the_check_is_on_and_sees_this_sessions_answers(request, client):
    if request.config.rootpath.resolve() != REPOSITORY:
        pytest.skip("a session rooted outside the repository: the check is off by design")
    plugin = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
    assert plugin is not None, "the OpenAPI contract check is not registered"
    errors = plugin.errors
    assert client.get("/api/v1/me").status_code == 401  # documented by login_required
    assert plugin.errors == errors + 1
    # against the app's own document
    operations = documented_operations(openapi(client))
    assert violation(operations, "GET", "/api/v1/me", 401) is None
    assert violation(operations, "GET", "/api/v1/me", 409)
    assert violation(operations, "GET", "/api/v1/stations/{station_id}", 404) is None


def test_a_conftest_elsewhere_importing_ours_does_not_turn_the_check_on(tmp_path):
    (tmp_path / "conftest.py").write_text("from tests.conftest import *  # noqa: F403\n")
    (tmp_path / "test_probe.py").write_text(
        "def test_probe(request):\n"
        f"    assert not request.config.pluginmanager.has_plugin({PLUGIN_NAME!r})\n"
        f"    assert any(m.startswith({MARKER!r}) for m in request.config.getini('markers'))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPOSITORY)}
    env.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    result = subprocess.run(
        [*command, "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OpenAPI contract" not in result.stdout

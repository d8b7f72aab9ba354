"""Bounded schemathesis fuzz of every operation in the OpenAPI document, in process.

Each generated request is sent as a rider, a resident and a community admin (of community
A, which holds a few real objects); none may answer 5xx, every error is the envelope
{code, message, status, details}, and responses match the documented schema.
`FUZZ_EXAMPLES` (default 8 per operation) sets the budget; `make fuzz` runs it longer.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
LAST = {"POST /api/v1/auth/logout", "DELETE /api/v1/me/staff-binding"}
ENVELOPE = {"code", "message", "status", "details"}


@pytest.fixture
def identities(login, units):
    from tests.hardening.test_authz_matrix import Ctx

    ctx = Ctx(app_client(), units, login)
    # a few real objects, so generated small ids sometimes hit something
    ctx.station(), ctx.reward(), ctx.activity(), ctx.need_id(), ctx.claim_id()
    return {
        "rider": ctx.owner,
        "resident": login("resident", "A"),
        "community_admin": ctx.admin_a,
    }


def app_client():
    from flask import current_app

    return current_app.test_client()


def check_envelope(response, case) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    assert isinstance(body, dict) and set(body) == ENVELOPE, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: not the error "
        f"envelope: {response.text[:300]}"
    )
    assert body["status"] == response.status_code


def _fuzz(app, identities, mode) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    operations = []
    for result in schema.get_all_operations():
        if not hasattr(result, "ok"):
            failures.append(f"unusable operation in the document: {result.err()}")
            continue
        operations.append(result.ok())
    # the ones that end a session or a staff binding go last, so the rest run logged in
    operations.sort(key=lambda op: op.label in LAST)
    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],  # no shrinking: report, keep going
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case):
            for auth in identities.values():
                response = case.call(headers={"Authorization": auth["Authorization"]})
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
                check_envelope(response, case)

        try:
            run()
        except Unsatisfiable:
            continue  # nothing to make invalid (no parameters): the positive run covers it
        except Exception as exc:  # every operation is tried; all failures are reported
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    return failures


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzz(app, identities, mode):
    failures = _fuzz(app, identities, mode)
    assert not failures, "\n\n".join(failures)

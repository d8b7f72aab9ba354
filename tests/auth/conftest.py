"""The points tests' fixtures, for account cancellation's races (test_account_deletion.py)."""

from tests.points.conftest import (  # noqa: F401  (fixtures)
    _rebuilds_do_not_settle,
    concurrently,
    verify_ledger_cli,
)

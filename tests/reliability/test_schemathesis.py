"""Property-based fuzzing of every API operation from the live OpenAPI document (schemathesis):
no 5xx, and every response conforms to its declared schema. Bounded here (FUZZ_EXAMPLES per
operation, default 4); `make fuzz` runs it long.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.factories import bearer, make_tenant

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))


@pytest.mark.postgres_only
def test_every_operation_fuzzed(app, backend):
    key = make_tenant(vendor=True).keys["owner"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=True)
        def run(case):  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=bearer(key), checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
            ran += 1
        except Exception as e:  # collect every operation's failure, then report them together
            failures.append(f"{op.method.upper()} {op.path}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else type(e).__name__}")
    assert ran + len(failures) >= 50
    assert failures == [], "\n".join(failures)

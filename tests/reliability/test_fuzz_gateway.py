"""Schema-driven fuzzing of every gateway route (schemathesis + hypothesis) against a real gateway process.

The cases come from the gateway's own /openapi.json, valid ones (positive) and invalid ones (negative).
Each request has a timeout (a hang counts as a failure); every response must be < 500 and match what the
document says (status code, content type, body schema). A few hundred requests in ``make test``, thousands
in ``make soak``. The gateway runs without a worker on its own Redis, so the generated image URLs are
queued but never fetched (and every process is fenced to loopback anyway).
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devtools.redis_server import EmbeddedRedis
from tests.reliability import procs
from tests.reliability.figures import SOAK, record, scale

REQUEST_TIMEOUT = 10.0
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.mark.parametrize("auth_mode", ["open", "token"])
def test_fuzz_every_route_from_the_openapi_document(auth_mode: str, own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    env = {"AUTH_MODE": "token", "AUTH_SECRET": "fuzz-secret-" + "x" * 20} if auth_mode == "token" else {}
    gw = procs.gateway(own_redis.url, tmp_path, name=f"gateway-fuzz-{auth_mode}", **env)
    # Examples per operation and mode. Token mode: the document asks for a bearer token, which the
    # generator sends as garbage, so nearly everything is a 401; fewer examples suffice there.
    per_operation = scale(20, 250) if auth_mode == "open" else scale(5, 60)
    statuses: collections.Counter[str] = collections.Counter()
    latencies: list[float] = []
    problems: list[str] = []
    server_errors = hangs = 0
    try:
        schema = schemathesis.openapi.from_url(gw.url + "/openapi.json", timeout=10)
        operations = [result.ok() for result in schema.get_all_operations()]
        session = requests.Session()
        started = time.monotonic()
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @settings(max_examples=per_operation, deadline=None, database=None, derandomize=not SOAK,
                          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode))
                def run(case: schemathesis.Case) -> None:  # called right away: the loop variables are current
                    nonlocal server_errors, hangs
                    t0 = time.monotonic()
                    try:
                        response = case.call(base_url=gw.url, session=session, timeout=REQUEST_TIMEOUT)
                    except requests.Timeout:
                        hangs += 1
                        problems.append(f"HANG {case.method} {case.formatted_path}")
                        return
                    latencies.append(time.monotonic() - t0)
                    statuses[f"{response.status_code // 100}xx"] += 1
                    if response.status_code >= 500:
                        server_errors += 1
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except (Failure, FailureGroup) as exc:
                        problems.append(f"{case.method} {case.formatted_path} [{mode}] -> {response.status_code}: "  # noqa: B023
                                        f"{str(exc).strip().splitlines()[0][:200]}")

                try:
                    run()
                except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                    continue
        elapsed = time.monotonic() - started
    finally:
        gw.stop()
    latencies.sort()
    total = sum(statuses.values())
    record(f"fuzz_openapi_all_routes_{auth_mode}", operations=len(operations), requests=total + hangs,
           **dict(sorted(statuses.items())),
           server_errors=server_errors, hangs=hangs, conformance_failures=len(problems) - hangs,
           p99_ms=1000 * latencies[int(0.99 * (len(latencies) - 1))], max_ms=1000 * latencies[-1],
           req_per_s=total / elapsed, fence_breaches=procs.fence_breaches(gw) + procs.dns_refusals(gw))
    assert server_errors == 0 and hangs == 0, problems[:20]
    assert not problems, "\n".join(dict.fromkeys(problems))
    assert total >= len(operations) * per_operation
    assert procs.fence_breaches(gw) + procs.dns_refusals(gw) == 0

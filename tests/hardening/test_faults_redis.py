"""Redis stopped and started again during a load run (``bench/soak.py`` against a redis-server
of the test's own).

While it is down: redemptions continue (the terminal rate limit counts in-process, the code
burn is skipped and the ledger still refuses a replayed phone code), ``/health/ready`` answers
503 naming redis, member and staff requests (their sessions live in Redis) answer
``503 session_store_unavailable``, and nothing answers 500. Once it is back: ready again,
sessions are opened again, the limiter is back on Redis; counters match the ledger.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import (
    RedisServer,
    answers_between,
    http_get,
    redis_server,  # noqa: F401 (fixture)
    run_soak,
    server_errors,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_redis_stopped_and_restarted_during_load(
    redis_server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    def outage(port: int, _pid: int) -> None:
        time.sleep(4)
        seen["ready_before"] = http_get(port, "/health/ready")
        seen["down_at"] = time.time()
        redis_server.kill()
        time.sleep(2)
        seen["ready_down"] = http_get(port, "/health/ready")
        time.sleep(6)
        redis_server.start()
        seen["up_at"] = time.time()
        deadline = time.time() + 15
        while time.time() < deadline:
            seen["ready_after"] = http_get(port, "/health/ready")
            if seen["ready_after"][0] == 200:
                break
            time.sleep(0.5)

    _, summary, output = run_soak(
        tmp_path, seconds=22, redis_url=redis_server.url, during=outage, timeout=240
    )
    assert summary, output[-3000:]

    status, body = seen["ready_before"]
    assert status == 200, body
    status, body = seen["ready_down"]
    assert status == 503, body
    assert json.loads(body)["failing"] == ["redis"]
    status, body = seen["ready_after"]
    assert status == 200, body

    # No 500 at all; the only 5xx are member/staff requests refused while sessions were gone.
    assert summary["status_500"] == 0, summary["samples"]
    errors = server_errors(summary)
    assert set(errors) <= {"token", "report"}, errors
    assert all(set(by_status) == {"503"} for by_status in errors.values()), errors
    assert "session_store_unavailable" in " ".join(summary["samples"]) or not errors

    # Redemptions continued while Redis was down, and used codes were still refused.
    down = answers_between(summary, seen["down_at"] + 1, seen["up_at"])
    assert down.get("redeem 201", 0) > 0, down
    assert set(summary["status"].get("replay", {})) <= {"409"}, summary["status"]
    assert set(summary["status"]["redeem"]) <= {"200", "201"}, summary["status"]
    # ... and after it came back, member and staff requests were served again.
    after = answers_between(summary, seen["up_at"] + 3, time.time())
    assert after.get("token 200", 0) > 0 and after.get("report 200", 0) > 0, after

    # The rate limiter went in-process and came back, as docs/merchant-api.md says.
    assert "limiting in-process" in output and "Redis is back" in output, output[-3000:]
    figures = summary["figures"]
    assert figures["reconcile_ok"] == 1 and figures["ledger_ok"] == 1, output[-3000:]
    # Anything else than the expected answers: only sessions lost (503 while down, 401 after).
    expected = {"scan": {"200"}, "redeem": {"200", "201"}, "retry": {"200"}, "replay": {"409"}}
    expected |= {"reversal": {"200", "201"}, "token": {"200"}, "report": {"200"}}
    odd = {(ep, s) for ep, by in summary["status"].items() for s in by if s not in expected[ep]}
    assert odd <= {(ep, s) for ep in ("token", "report") for s in ("401", "503")}, odd

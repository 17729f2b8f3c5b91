"""A POS vendor's path: generate a Python client from the served document with
openapi-python-client (no warning allowed), then run a till loop with that client alone against
the live app — scan, redeem, retry with the same Idempotency-Key, reverse, list, settle.

The generator takes seconds: this runs on one database (the loop's behaviour is covered on both
by the other terminal tests)."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support.pos import Pos, pos_fixture  # noqa: F401 (fixture)

Client = AsyncTestClient[Litestar]
CONFIG = Path(__file__).parents[3] / "docs" / "openapi-python-client.yaml"


def generate(doc: Path, out: Path) -> str:
    """Run the generator as a vendor would; its whole output (warnings included)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(doc),
            "--config",
            str(CONFIG),
            "--output-path",
            str(out),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    return output


@pytest.fixture
async def generated(client: Client, tmp_path: Path) -> ModuleType:
    doc = tmp_path / "openapi.json"
    doc.write_bytes((await client.get("/schema/openapi.json")).content)
    output = generate(doc, tmp_path / "unioncard_client")
    assert "WARNING" not in output and "Error" not in output and "not in PATH" not in output, output
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m.split(".")[0] == "unioncard_client"]:
            del sys.modules[name]
        return importlib.import_module("unioncard_client")
    finally:
        sys.path.remove(str(tmp_path))


def module(name: str) -> Any:
    """A module of the generated package (typed Any: it exists only once generated)."""
    return importlib.import_module(f"unioncard_client{name}")


@pytest.mark.only_on("sqlite")  # the generator runs once
async def test_every_terminal_answer_is_typed(generated: ModuleType) -> None:
    problem = module(".models").Problem
    statuses = {
        "scan": {200, 400, 401, 403, 422, 429, 500, 503},
        "redeem": {200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 503},
        "reverse_redemption": {200, 201, 400, 401, 403, 404, 409, 429, 500, 503},
        "list_redemptions": {200, 400, 401, 403, 429, 500, 503},
        "get_settlement": {200, 400, 401, 403, 429, 500, 503},
        "get_terminal": {200, 400, 401, 403, 429, 500, 503},
    }
    for name, expected in statuses.items():
        source = inspect.getsource(module(f".api.merchant_api.{name}"))
        for status in expected:
            assert f"response.status_code == {status}:" in source, (name, status)
    assert {"errors", "retry_after", "reasons", "idempotency_key"} <= set(problem.__annotations__)


@pytest.mark.only_on("sqlite")
async def test_a_till_loop_with_the_generated_client_alone(
    generated: ModuleType, client: Client, pos: Pos
) -> None:
    # What the vendor writes (docs/merchant-api.md, "Integrate your POS"), with the imports
    # `from unioncard_client.api.merchant_api import scan, …` spelled out for the type checker.
    authenticated_client = module("").AuthenticatedClient
    scan, redeem, reverse_redemption, list_redemptions, get_settlement = (
        module(f".api.merchant_api.{n}")
        for n in ("scan", "redeem", "reverse_redemption", "list_redemptions", "get_settlement")
    )
    models = module(".models")
    problem, scan_in, scan_out = models.Problem, models.ScanIn, models.ScanOut
    redeem_in, redemption_out = models.RedeemIn, models.RedemptionOut
    reversal_in, reversal_out, settlement_out = (
        models.ReversalIn,
        models.ReversalOut,
        models.SettlementOut,
    )

    prog = await pos.program("DINE10")
    terminal = pos.terminal("dining")
    qr = await pos.code(pos.member())
    uc = authenticated_client(base_url="http://testserver.local", token=terminal["key"])
    client.headers["Authorization"] = f"Bearer {terminal['key']}"
    uc.set_async_httpx_client(client)  # the live test app instead of the network

    seen = await scan.asyncio(client=uc, body=scan_in(code=qr, amount_fen=8800))
    assert isinstance(seen, scan_out), seen
    [offer] = [b for b in seen.benefits if b.program_code == "DINE10"]
    assert offer.program_id == prog.id and offer.benefit.discount_fen == 880

    key = f"till-1-{uuid.uuid4()}"  # one per bill, kept for every retry of it
    body = redeem_in(code=qr, program_id=offer.program_id, amount_fen=8800)
    first = await redeem.asyncio_detailed(client=uc, body=body, idempotency_key=key)
    again = await redeem.asyncio_detailed(client=uc, body=body, idempotency_key=key)  # timeout?
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    done = again.parsed
    assert isinstance(done, redemption_out) and done.id == first.parsed.id
    assert done.payable_fen == 7920

    replayed_qr = await redeem.asyncio(client=uc, body=body, idempotency_key=f"{key}-b")
    assert isinstance(replayed_qr, problem) and replayed_qr.code == "token_replayed"

    undo = await reverse_redemption.asyncio(
        done.id, client=uc, body=reversal_in(reason="顾客退单"), idempotency_key=f"{key}-void"
    )
    assert isinstance(undo, reversal_out) and undo.redemption_id == done.id

    page = await list_redemptions.asyncio(client=uc, limit=10)
    assert [r.id for r in page.items] == [done.id] and page.items[0].reversed_at
    month = done.occurred_at.strftime("%Y-%m")
    settled = await get_settlement.asyncio(month, client=uc)
    assert isinstance(settled, settlement_out) and settled.totals.count == 0
    bad = await get_settlement.asyncio("2026-13", client=uc)
    assert isinstance(bad, problem) and bad.code == "invalid_month"

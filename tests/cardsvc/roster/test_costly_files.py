"""Files that cost more than they hold, and jobs that must stop: a sheet declaring 16,384
columns and a million rows reads as the few cells it has; cancelling, the time limit and
shutdown stop the reading thread itself, within seconds."""

from __future__ import annotations

import asyncio
import io
import signal
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.models import JobStatus
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.public import find_org_by_code
from cardsvc.roster import readers
from cardsvc.roster.columns import HEADERS
from cardsvc.roster.files import UploadSink, upload_dir
from cardsvc.roster.service import start_import
from tests.cardsvc.roster.conftest import (
    IMPORTS,
    XL_UNIONS,
    login,
    rows,
    run_jobs,
    upload,
    xlsx_bytes,
)
from tests.cardsvc.roster.test_resume import _job

_CT = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/'
    'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
    '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
    '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target='
    '"xl/workbook.xml"/></Relationships>'
)
_WB = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships"><sheets><sheet name="会员名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WB_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
    '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/'
    'sheet1.xml"/></Relationships>'
)


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return f'<c r="{ref}" s="0"/>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def _col(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def hostile_xlsx(data: list[list[Any]], *, far: Any = None) -> bytes:
    """A hand-made workbook whose ``dimension`` claims A1:XFD1000000, with the header, the
    ``data`` rows and one cell at XFD1000000 (styled and empty unless ``far`` is given)."""
    lines = []
    for r, values in enumerate([list(HEADERS), *data], start=1):
        cells = "".join(_cell(f"{_col(c)}{r}", v) for c, v in enumerate(values, start=1))
        lines.append(f'<row r="{r}" spans="1:16384">{cells}</row>')
    lines.append(f'<row r="1000000">{_cell("XFD1000000", far)}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        '.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1000000"/><sheetData>'
        + "".join(lines)
        + "</sheetData></worksheet>"
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", _CT)
        zf.writestr("_rels/.rels", _RELS)
        zf.writestr("xl/workbook.xml", _WB)
        zf.writestr("xl/_rels/workbook.xml.rels", _WB_RELS)
        zf.writestr("xl/worksheets/sheet1.xml", sheet)
    return buf.getvalue()


async def _status(client: AsyncTestClient[Litestar], job_id: str) -> dict[str, Any]:
    resp = await client.get(f"{IMPORTS}/{job_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_declared_dimensions_cost_nothing(
    client: AsyncTestClient[Litestar], runner: JobRunner, demo: dict
) -> None:
    await login(client, "xl.admin")
    content = hostile_xlsx(rows(3))
    assert len(content) < 5000
    resp = await upload(client, content, dry_run=True)
    assert resp.status_code == 202, resp.text
    started = time.monotonic()
    async with asyncio.timeout(30):
        assert await run_jobs(runner) == 1
    assert time.monotonic() - started < 10
    body = await _status(client, resp.json()["id"])
    assert body["status"] == "succeeded", body
    assert body["rows_total"] == 3


async def test_content_past_the_column_limit_is_a_clear_error(
    client: AsyncTestClient[Litestar], runner: JobRunner, demo: dict
) -> None:
    await login(client, "xl.admin")
    resp = await upload(client, hostile_xlsx(rows(3), far="备注"), dry_run=True)
    assert resp.status_code == 202, resp.text
    async with asyncio.timeout(30):
        await run_jobs(runner)
    body = await _status(client, resp.json()["id"])
    assert body["status"] == "failed", body
    assert body["error"]["code"] == "roster_too_many_columns", body
    assert "1000000" in body["error"]["message"]


class SlowCells:
    """Makes reading a cell take a millisecond and notes when the last one was read: the
    reading thread's work made slow enough to stop mid-way, and visible."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.last = 0.0
        self.started = threading.Event()
        plain = readers._plain

        def slow(value: Any, row_no: int, header: str) -> Any:
            self.started.set()
            time.sleep(0.001)
            self.last = time.monotonic()
            return plain(value, row_no, header)

        monkeypatch.setattr(readers, "_plain", slow)

    async def wait_started(self) -> None:
        assert await asyncio.to_thread(self.started.wait, 30), "the reading never started"

    async def assert_stopped(self) -> None:
        """No cell is read any more (the thread, not just the task, is done)."""
        await asyncio.sleep(0.5)
        assert time.monotonic() - self.last > 0.45, "the reading thread is still at work"


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowCells]:
    yield SlowCells(monkeypatch)


def _runner(engine: AsyncEngine, settings: Settings, **kw: Any) -> JobRunner:
    """One read batch for the whole file: the thread does not come back between batches."""
    s = replace(settings, roster_batch_size=1_000_000, **kw)
    return JobRunner(engine, s, all_handlers(), services=services_for(s))


async def _queue_big(client: AsyncTestClient[Litestar], tmp_path: Path) -> str:
    await login(client, "xl.admin")
    resp = await upload(client, xlsx_bytes(tmp_path, rows(1500)), dry_run=True)
    assert resp.status_code == 202, resp.text
    return str(resp.json()["id"])


async def test_cancel_stops_the_reading_within_seconds(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    settings: Settings,
    demo: dict,
    tmp_path: Path,
    slow: SlowCells,
) -> None:
    job_id = await _queue_big(client, tmp_path)
    runner = _runner(engine, settings)
    task = asyncio.create_task(runner.run_once())
    await slow.wait_started()
    resp = await client.post(f"{IMPORTS}/{job_id}/cancel")
    assert resp.status_code == 200, resp.text
    async with asyncio.timeout(5):
        assert await task is True
    await slow.assert_stopped()
    body = await _status(client, job_id)
    assert body["status"] == "cancelled", body


async def test_a_job_over_its_time_limit_fails_and_stops(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    settings: Settings,
    demo: dict,
    tmp_path: Path,
    slow: SlowCells,
) -> None:
    job_id = await _queue_big(client, tmp_path)
    runner = _runner(engine, settings, job_time_limit_seconds=1)
    started = time.monotonic()
    async with asyncio.timeout(10):
        assert await runner.run_once() is True
    assert time.monotonic() - started < 5
    await slow.assert_stopped()
    body = await _status(client, job_id)
    assert body["status"] == "failed", body
    assert body["error"]["code"] == "job_time_limit"
    assert "1秒" in body["error"]["message"]


@pytest.mark.parametrize("as_litestar", [False, True], ids=["cli", "app-shutdown-hook"])
async def test_shutdown_hands_the_job_back_within_the_grace_period(
    client: AsyncTestClient[Litestar],
    engine: AsyncEngine,
    settings: Settings,
    demo: dict,
    tmp_path: Path,
    slow: SlowCells,
    as_litestar: bool,
) -> None:
    job_id = await _queue_big(client, tmp_path)
    runner = _runner(engine, settings, shutdown_grace_seconds=3)
    await runner.start()
    await slow.wait_started()
    started = time.monotonic()
    # Litestar calls an on_shutdown hook with the app when the hook takes an argument.
    await (runner.stop(object()) if as_litestar else runner.stop())
    assert time.monotonic() - started < 3.5
    await slow.assert_stopped()
    body = await _status(client, job_id)
    assert body["status"] == "queued", body  # handed back, to resume on the next start


@pytest.mark.only_on("postgres")  # the worker process shares the database
async def test_sigterm_stops_the_job_worker_within_the_grace_period(
    engine: AsyncEngine, settings: Settings, db_url: str, demo: dict, tmp_path: Path
) -> None:
    """``python -m cardsvc jobs work`` reading a big roster in one batch exits within the
    grace period after SIGTERM, and the import is back in the queue."""
    from tests.cardsvc.roster.test_resume import _env

    line = ",".join(["某某", "110101199001011234", "13800000000", "XL-JIDIAN"][: len(HEADERS)])
    body = "\n".join([",".join(HEADERS), *([line] * 1_000_000)]).encode()
    async with make_sessionmaker(engine)() as s, s.begin():
        org = await find_org_by_code(s, XL_UNIONS[0])
        assert org is not None
        sink = UploadSink(upload_dir(settings), 100 << 20)
        sink.write(body)
        job = await start_import(
            s,
            settings,
            SYSTEM,
            stored=sink.keep("csv"),
            fmt="csv",
            filename="big.csv",
            dry_run=True,
            org=org,
        )
        job_id = job.id
    env = _env(db_url, settings.var_dir)
    env.update(UNIONCARD_ROSTER_BATCH_SIZE="1000000", UNIONCARD_SHUTDOWN_GRACE_SECONDS="3")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cardsvc", "jobs", "work", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60):
            while (await _job(engine, job_id)).phase != "reading":
                assert worker.returncode is None, "the worker exited early"
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # well inside the one batch
        worker.send_signal(signal.SIGTERM)
        started = time.monotonic()
        await asyncio.wait_for(worker.wait(), 30)
        # The grace period, and the time a busy machine takes to start and end a process:
        # reading the million rows to the end would take longer.
        assert time.monotonic() - started < 3 + 7
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()
    back = await _job(engine, job_id)
    assert back.status == JobStatus.queued and back.attempts == 0

"""Roster uploads as an attacker sends them: over the size limit without a Content-Length (a
chunked stream), and a zip bomb disguised as .xlsx whose headers lie about the expanded size.
Each is refused with a clear problem, never a 500, never read into memory."""

from __future__ import annotations

import dataclasses
import io
import struct
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from cardsvc.app import create_app
from cardsvc.demo.seed import DEMO_PASSWORD as PASSWORD
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.settings import Settings
from tests.cardsvc.roster.conftest import IMPORTS, member_count, rows, run_jobs, xlsx_bytes
from tests.cardsvc.roster.conftest import runner as runner
from tests.security.conftest import Client, staff_caller


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    from tests.conftest import make_test_settings

    return dataclasses.replace(
        make_test_settings(db_url, var_dir), job_runner=False, upload_max_mb=1
    )


def _lying_bomb(real: bytes, padding: int) -> bytes:
    """``real`` (an .xlsx) with its sheet padded by ``padding`` bytes of spaces (compressing to
    almost nothing) while both zip headers still declare the sheet's original size."""
    src = zipfile.ZipFile(io.BytesIO(real))
    sheet = next(n for n in src.namelist() if n.startswith("xl/worksheets/"))
    declared = src.getinfo(sheet).file_size
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info.filename)
            zf.writestr(info.filename, data + b" " * padding if info.filename == sheet else data)
    buf = bytearray(out.getvalue())
    name = sheet.encode()
    # Local file header: size at +22, name length at +26, name at +30.
    i = buf.find(b"PK\x03\x04")
    while i != -1:
        (n,) = struct.unpack_from("<H", buf, i + 26)
        if buf[i + 30 : i + 30 + n] == name:
            struct.pack_into("<I", buf, i + 22, declared)
        i = buf.find(b"PK\x03\x04", i + 4)
    # Central directory header: size at +24, name length at +28, name at +46.
    i = buf.find(b"PK\x01\x02")
    while i != -1:
        (n,) = struct.unpack_from("<H", buf, i + 28)
        if buf[i + 46 : i + 46 + n] == name:
            struct.pack_into("<I", buf, i + 24, declared)
        i = buf.find(b"PK\x01\x02", i + 4)
    return bytes(buf)


async def test_zip_bomb_with_lying_sizes_is_refused_clearly(
    client: Client,
    runner: JobRunner,
    engine: AsyncEngine,
    demo: dict[str, Any],
    tmp_path: Path,
) -> None:
    bomb = _lying_bomb(xlsx_bytes(tmp_path, rows(20)), padding=200 << 20)
    assert len(bomb) < 1 << 20  # 200 MB of sheet in under the 1 MB upload limit
    assert zipfile.ZipFile(io.BytesIO(bomb)).infolist()[-1].file_size < 1 << 20  # it lies
    staff = await staff_caller(client, "xl.admin")
    before = await member_count(engine)
    r = await client.post(
        IMPORTS,
        files={"file": ("名单.xlsx", bomb)},
        data={"dry_run": "false"},
        headers=staff.headers(),
    )
    if r.status_code == 202:  # the headers look sane: the job finds out while reading
        await run_jobs(runner)
        job = (await client.get(f"{IMPORTS}/{r.json()['id']}", headers=staff.headers())).json()
        assert job["status"] == "failed", job
        assert job["error"]["code"] in {"roster_damaged", "roster_zip_bomb"}, job["error"]
        assert job["error"]["message"] and job["error"]["message_en"]
    else:
        assert r.status_code == 422, r.text
        assert r.json()["code"] in {"roster_damaged", "roster_zip_bomb"}
    assert await member_count(engine) == before


def _chunks(total: int, boundary: str) -> Iterator[bytes]:
    # A generator body: httpx sends it chunked, without a Content-Length.
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    line = "姓名,身份证号,手机号\n".encode() * 1000
    sent = 0
    while sent < total:
        yield line
        sent += len(line)
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_upload_over_the_limit_without_content_length_is_413(
    settings: Settings, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    app: Litestar = create_app(settings)
    # The synchronous client: it streams a generator body as is (chunked).
    with TestClient(app=app) as client:
        r = client.post(
            "/api/v1/staff/session", json={"username": "xl.admin", "password": PASSWORD}
        )
        assert r.status_code == 200, r.text
        boundary = uuid.uuid4().hex
        r = client.post(
            IMPORTS,
            content=_chunks(3 << 20, boundary),
            headers={
                "x-csrf-token": r.json()["csrf_token"],
                "content-type": f"multipart/form-data; boundary={boundary}",
            },
        )
        assert "content-length" not in r.request.headers
        assert r.status_code == 413 and r.json()["code"] == "upload_too_large", r.text
        assert r.json()["message_zh"] and r.json()["message_en"]
    uploads = settings.var_dir / "uploads"
    assert not uploads.exists() or not [p for p in uploads.rglob("*") if p.is_file()]

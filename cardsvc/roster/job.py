"""The ``roster.import`` job: read the file into a spool, then validate and write in batches.

Checkpoints: ``{"phase": "apply", "row": N, "done": rows, "counts": {…}}`` is saved in the
same transaction as the batch that ends at row N (and that batch's row errors), so a job
resumed after a crash or restart continues at row N + 1 with nothing lost or written twice.
``{"phase": "done", "result": …}`` is saved with the audit row, so a job that dies between
its last batch and being marked finished is finished on resumption without a second audit row.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select

from cardsvc.jobs.models import TERMINAL, Job
from cardsvc.jobs.runner import JobContext
from cardsvc.jobs.service import JobCancelled
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import SYSTEM, Principal
from cardsvc.roster.apply import BatchScope, apply_batch, save_errors
from cardsvc.roster.errors import file_error
from cardsvc.roster.files import remove, source_problem, spool_path
from cardsvc.roster.hooks import members_activated
from cardsvc.roster.models import RosterImportError
from cardsvc.roster.readers import Row, SpoolWriter, iter_roster, read_spool, spool_writer
from cardsvc.roster.rows import Prepared, RowValidator
from cardsvc.staff.models import StaffUser
from cardsvc.staff.service import principal_of

ROSTER_IMPORT = "roster.import"
READ_SHARE = 30  # percent of the progress bar given to reading the file
COUNT_KEYS = (
    "created",
    "updated",
    "unchanged",
    "activated",
    "hardship_proposed",
    "error_rows",
    "errors",
)
_BYTES_PER_ROW = {"xlsx": 45, "csv": 90}  # to estimate progress while the total is unknown


async def _actor(ctx: JobContext) -> Principal:
    """The staff member who started the import, with the roles they hold now."""
    if ctx.claim.created_by is None:
        return SYSTEM
    async with ctx.sessionmaker() as session:
        user = await session.get(StaffUser, ctx.claim.created_by)
        if user is None or not user.active:
            raise AppError(
                "import_actor_inactive",
                "发起导入的账号已停用，导入未执行",
                "the staff account that started the import is no longer active",
                status=409,
            )
        return principal_of(user, ip=ctx.params.get("ip"), request_id=ctx.params.get("request_id"))


def _fill_spool(rows: Any, writer: SpoolWriter, size: int) -> int:
    chunk: list[Row] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            break
    if chunk:
        writer.write(chunk)
    return len(chunk)


async def _in_thread(ctx: JobContext, fn: Any, *args: Any) -> Any:
    """``fn`` in a worker thread; if this job is stopped meanwhile, wait for the thread to
    notice (``ctx.stopping``, checked between rows) so that none outlives the job."""
    work = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        ctx.halt.set()
        with contextlib.suppress(BaseException):
            await work
        raise


async def _read(ctx: JobContext, source: Path, spool: Path) -> int:
    """Pass one: the whole file into the spool, or a file-level error before any write."""
    p = ctx.params
    await ctx.progress(phase="reading", percent=0, rows_done=0)
    rows = iter_roster(
        source, p["format"], max_rows=ctx.settings.roster_max_rows, stop=ctx.stopping
    )
    estimate = max(1, int(p.get("size", 0)) // _BYTES_PER_ROW.get(p["format"], 60))
    batch = max(1, ctx.settings.roster_batch_size)
    total = 0
    with spool_writer(spool) as writer:
        while n := await _in_thread(ctx, _fill_spool, rows, writer, batch):
            total += n
            await ctx.progress(percent=min(READ_SHARE - 1, READ_SHARE * total // estimate))
    if total == 0:
        raise file_error(
            "roster_no_rows", "文件中没有数据行（只有表头）", "The file has no data rows"
        )
    return total


async def _cleanup(ctx: JobContext, spool: Path, *, keep_upload: bool) -> None:
    await asyncio.to_thread(remove, spool)
    if keep_upload:
        return
    sha = ctx.params.get("sha256")
    async with ctx.sessionmaker() as session:
        others = await session.scalars(
            select(Job.params).where(
                Job.kind == ROSTER_IMPORT, Job.id != ctx.job_id, Job.status.not_in(TERMINAL)
            )
        )
        if any((o or {}).get("sha256") == sha for o in others):
            return
    await asyncio.to_thread(remove, Path(ctx.params["path"]))


async def run_roster_import(ctx: JobContext) -> dict[str, Any]:
    spool = spool_path(ctx.settings, ctx.job_id)
    dry_run = bool(ctx.params.get("dry_run"))
    try:
        result = await _run(ctx, spool)
    except (AppError, JobCancelled):
        await _cleanup(ctx, spool, keep_upload=False)
        raise
    await _cleanup(ctx, spool, keep_upload=dry_run)
    return result


async def _start_apply(
    ctx: JobContext, source: Path, spool: Path, cp: dict[str, Any]
) -> dict[str, Any]:
    """Make sure the spool is there and the apply phase started; returns the checkpoint."""
    if cp.get("phase") != "apply" or not await asyncio.to_thread(spool.exists):
        # A fresh start, or a resumption on a machine without the spool: read the file again.
        total = await _read(ctx, source, spool)
        if cp.get("phase") != "apply":
            cp = {"phase": "apply", "row": 0, "done": 0, "counts": dict.fromkeys(COUNT_KEYS, 0)}
            async with ctx.sessionmaker() as session, session.begin():
                await session.execute(
                    delete(RosterImportError).where(RosterImportError.job_id == ctx.job_id)
                )
                await ctx.save(
                    session,
                    phase="importing",
                    rows_total=total,
                    rows_done=0,
                    percent=READ_SHARE,
                    checkpoint=cp,
                )
        else:
            await ctx.progress(phase="importing")
    return cp


async def _apply_one(
    ctx: JobContext,
    scope: BatchScope,
    todo: list[Row],
    prepared: Prepared,
    counts: Counter[str],
    done: int,
    total: int,
) -> tuple[Counter[str], int]:
    """Write one batch, its errors and the checkpoint in one transaction."""
    batch_counts = Counter(counts)
    async with ctx.sessionmaker() as session, session.begin():
        outcome = await apply_batch(session, scope, prepared.valid)
        errors = prepared.errors + outcome.errors
        await save_errors(session, ctx.job_id, errors)
        if not scope.dry_run:
            await members_activated(session, outcome.activated)
        batch_counts.update(outcome.counts)
        batch_counts["errors"] += len(errors)
        batch_counts["error_rows"] += len({e.row_no for e in errors})
        new_done = done + len(todo)
        await ctx.save(
            session,
            rows_done=new_done,
            percent=min(99, READ_SHARE + (100 - READ_SHARE) * new_done // total),
            checkpoint={
                "phase": "apply",
                "row": todo[-1][0],
                "done": new_done,
                "counts": {k: batch_counts[k] for k in COUNT_KEYS},
            },
        )
    return batch_counts, new_done


async def _apply_all(
    ctx: JobContext,
    scope: BatchScope,
    cipher: PiiCipher,
    spool: Path,
    cp: dict[str, Any],
    total: int,
) -> tuple[Counter[str], int]:
    """Validate and write the spooled rows past the checkpoint, a batch at a time."""
    validator = RowValidator(cipher, scope.today)
    counts: Counter[str] = Counter(cp.get("counts") or {})
    last_row, done = int(cp.get("row", 0)), int(cp.get("done", 0))
    frames = read_spool(spool)

    def next_batch(after: int) -> tuple[list[Row], Prepared] | None:
        """The next rows past ``after``, validated (runs in a worker thread)."""
        for frame in frames:
            todo = [r for r in frame if r[0] > after]
            if len(todo) < len(frame):  # imported before a restart: only remember their IDs
                validator.remember([r for r in frame if r[0] <= after])
            if todo:
                return todo, validator.prepare(todo)
        return None

    # Validate batch N + 1 in a thread while batch N is written: the database's work and
    # ours overlap instead of taking turns.
    ahead = asyncio.ensure_future(asyncio.to_thread(next_batch, last_row))
    try:
        while (batch := await ahead) is not None:
            todo, prepared = batch
            ahead = asyncio.ensure_future(asyncio.to_thread(next_batch, todo[-1][0]))
            counts, done = await _apply_one(ctx, scope, todo, prepared, counts, done, total)
            last_row = todo[-1][0]
    finally:
        if not ahead.done():
            ahead.cancel()
    return counts, done


async def _finish(
    ctx: JobContext, actor: Principal, scope: BatchScope, result: dict[str, Any]
) -> None:
    """Audit the import and save its result as the final checkpoint."""
    async with ctx.sessionmaker() as session, session.begin():
        record(
            session,
            actor,
            "roster.dry_run" if scope.dry_run else "roster.import",
            target_type="job",
            target_id=ctx.job_id,
            org_path=scope.root_path,
            summary=result,
        )
        await ctx.save(
            session, phase="done", percent=100, checkpoint={"phase": "done", "result": result}
        )


async def _run(ctx: JobContext, spool: Path) -> dict[str, Any]:
    p = ctx.params
    cp = ctx.checkpoint or {}
    if cp.get("phase") == "done":
        return dict(cp["result"])
    cipher: PiiCipher = ctx.services["cipher"]
    actor = await _actor(ctx)
    source = Path(p["path"])
    if await asyncio.to_thread(source_problem, source, spool, p["sha256"]):
        raise file_error(
            "upload_missing",
            "上传的文件已不存在（已过期或被清理），请重新上传",
            "the uploaded file is gone (expired or removed); upload it again",
        )
    cp = await _start_apply(ctx, source, spool, cp)
    async with ctx.sessionmaker() as session:
        total = (await session.get(Job, ctx.job_id)).rows_total or 1  # type: ignore[union-attr]
    scope = BatchScope(
        actor=actor,
        root_path=p["org_path"],
        today=date.fromisoformat(p["today"]),
        dry_run=bool(p.get("dry_run")),
    )
    counts, done = await _apply_all(ctx, scope, cipher, spool, cp, total)
    result: dict[str, Any] = {
        "dry_run": scope.dry_run,
        "rows": done,
        **{k: counts[k] for k in COUNT_KEYS},
        "filename": p.get("filename"),
        "sha256": p.get("sha256"),
        "attempts": ctx.claim.attempt,
    }
    await _finish(ctx, actor, scope, result)
    return result


def import_params(
    *,
    path: Path,
    sha256: str,
    size: int,
    filename: str,
    fmt: str,
    dry_run: bool,
    org_id: uuid.UUID,
    org_path: str,
    today: date,
    ip: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    return {
        "path": str(path),
        "sha256": sha256,
        "size": size,
        "filename": filename,
        "format": fmt,
        "dry_run": dry_run,
        "org_id": str(org_id),
        "org_path": org_path,
        "today": today.isoformat(),
        "ip": ip,
        "request_id": request_id,
    }

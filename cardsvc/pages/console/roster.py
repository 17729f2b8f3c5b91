"""Roster import: upload (.xlsx/.csv), a live progress bar, and the per-row error report.

The upload is streamed to disk by the API's own reader and queued by the same service calls
(``start_import``); the progress fragment is polled by htmx (``every 1s``) until the job is
finished, then shows the counts and the row errors.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs import service as jobs
from cardsvc.jobs.models import TERMINAL
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.service import orgs_in_scope
from cardsvc.pages.console.common import ConsoleController, page, require
from cardsvc.roster import service
from cardsvc.roster.job import ROSTER_IMPORT
from cardsvc.roster.routes import import_out
from cardsvc.roster.upload import import_upload

ERRORS_PAGE = 100
NO_IMPORT = ("您的角色无权导入会员", "Your role may not import members")
# What a person is told about a finished import: (zh, en, tone) by outcome.
OUTCOMES = {
    "queued": ("排队中", "Queued", ""),
    "running": ("导入中", "Importing", ""),
    "imported": ("已完成", "Finished", "ok"),
    "partial": ("部分导入，有错误行", "Partly imported: some rows have errors", "warn"),
    "none_imported": ("全部行有错误，未导入", "Every row has errors: nothing imported", "err"),
    "checked": ("检查通过", "Check passed", "ok"),
    "checked_with_errors": ("检查发现错误", "The check found errors", "warn"),
    "checked_all_bad": ("全部行有错误", "Every row has errors", "err"),
    "failed": ("失败", "Failed", "err"),
    "cancelled": ("已取消", "Cancelled", ""),
}
PHASE_LABELS = {
    "reading": ("读取文件", "Reading the file"),
    "importing": ("写入会员", "Writing members"),
    "done": ("完成", "Done"),
}


def outcome_of(job: Any) -> str:
    """The honest state of an import: a finished job whose rows all failed is not 已完成."""
    status = job.status.value
    if status != "succeeded":
        return status
    c = job.counts
    good = c.created + c.updated + c.unchanged
    prefix = "checked" if job.dry_run else ""
    if not c.error_rows:
        return "checked" if job.dry_run else "imported"
    if not good:
        return f"{prefix}_all_bad" if prefix else "none_imported"
    return "checked_with_errors" if prefix else "partial"


class RosterPages(ConsoleController):
    path = "/console/roster"

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Template:
        require(staff, Perm.member_write, *NO_IMPORT)
        rows, _ = await jobs.list_jobs(db_session, staff, kind=ROSTER_IMPORT, limit=20, offset=0)
        return await page(
            request,
            state,
            staff,
            "console/roster.html",
            "roster",
            imports=[(out, outcome_of(out)) for out in map(import_out, rows)],
            orgs=await orgs_in_scope(db_session, staff, Perm.member_write),
            outcomes=OUTCOMES,
        )

    @post("/", status_code=200, request_max_body_size=None)
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
    ) -> Response[Any]:
        """Same steps as ``POST /api/v1/roster/imports``: streamed to disk, checked, queued."""
        require(staff, Perm.member_write, *NO_IMPORT)
        job = await import_upload(request, state, staff, db_session)
        return Response("", headers={"HX-Redirect": f"/console/roster/{job.id}"})

    @get("/{import_id:uuid}")
    async def detail(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        import_id: uuid.UUID,
    ) -> Template:
        job = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        return await page(
            request,
            state,
            staff,
            "console/roster_import.html",
            "roster",
            **await self._progress(db_session, job, 0),
        )

    @get("/{import_id:uuid}/progress")
    async def progress(
        self, staff: Principal, db_session: AsyncSession, import_id: uuid.UUID, offset: int = 0
    ) -> Template:
        job = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        return Template(
            "console/_roster_progress.html",
            context=await self._progress(db_session, job, max(offset, 0)),
        )

    @staticmethod
    async def _progress(db: AsyncSession, job: Any, offset: int) -> dict[str, Any]:
        done = job.status in TERMINAL
        errors, total = (
            await service.error_page(db, job, limit=ERRORS_PAGE, offset=offset) if done else ([], 0)
        )
        out = import_out(job)
        return {
            "job": out,
            "done": done,
            "outcome": outcome_of(out),
            "outcomes": OUTCOMES,
            "phases": PHASE_LABELS,
            "groups": await service.error_groups(db, job) if total else [],
            "row_errors": errors,
            "errors_total": total,
            "offset": offset,
            "limit": ERRORS_PAGE,
        }

    @post("/{import_id:uuid}/apply", status_code=200)
    async def apply(
        self, state: State, staff: Principal, db_session: AsyncSession, import_id: uuid.UUID
    ) -> Response[Any]:
        dry = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        job = await service.apply_dry_run(db_session, state.settings, staff, dry)
        await db_session.commit()
        if runner := getattr(state, "jobs", None):
            runner.wake()
        return Response("", headers={"HX-Redirect": f"/console/roster/{job.id}"})

"""Staff API for roster imports: template, upload, progress (polling and SSE), error report."""

from __future__ import annotations

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import State
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.response import File, Response, ServerSentEvent, ServerSentEventMessage, Stream
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs import service as jobs
from cardsvc.jobs.models import TERMINAL, Job, JobStatus
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.errors import Forbidden
from cardsvc.kernel.openapi import (
    ATTACHMENT,
    BINARY,
    header,
    problem_responses,
    success_operation,
)
from cardsvc.kernel.pagination import Limit, Offset
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.roster import service
from cardsvc.roster.job import COUNT_KEYS, ROSTER_IMPORT
from cardsvc.roster.report import csv_chunks, xlsx_file
from cardsvc.roster.template import template_csv, template_xlsx
from cardsvc.roster.upload import import_upload

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SSE_POLL_SECONDS = 0.5
SSE_KEEPALIVE_SECONDS = 15
SSE_MAX_SECONDS = 4 * 3600


class ImportCounts(msgspec.Struct):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    activated: int = 0
    hardship_proposed: int = 0  # pending hardship records for the union above to approve
    error_rows: int = 0
    errors: int = 0


class ImportProblem(msgspec.Struct):
    code: str
    message: str
    message_en: str | None


class ImportOut(msgspec.Struct):
    id: uuid.UUID
    status: JobStatus
    phase: str | None
    dry_run: bool
    filename: str | None
    file_sha256: str | None
    file_size: int | None
    org_id: uuid.UUID | None
    rows_total: int | None
    rows_done: int
    percent: int
    counts: ImportCounts
    error: ImportProblem | None
    attempts: int
    created_by: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportPage(msgspec.Struct):
    items: list[ImportOut]
    total: int
    limit: int
    offset: int


class RowErrorOut(msgspec.Struct):
    row: int
    column: str | None
    value: str | None
    code: str
    reason: str
    reason_en: str


class RowErrorPage(msgspec.Struct):
    items: list[RowErrorOut]
    total: int
    limit: int
    offset: int


def import_out(job: Job) -> ImportOut:
    p = job.params or {}
    source = (job.result or {}) or (job.checkpoint or {}).get("counts") or {}
    if job.checkpoint and "result" in job.checkpoint:
        source = job.checkpoint["result"]
    counts = ImportCounts(**{k: int(source.get(k, 0)) for k in COUNT_KEYS})
    error = ImportProblem(job.error_code, job.error or "", job.error_en) if job.error_code else None
    return ImportOut(
        id=job.id,
        status=job.status,
        phase=job.phase,
        dry_run=bool(p.get("dry_run")),
        filename=p.get("filename"),
        file_sha256=p.get("sha256"),
        file_size=p.get("size"),
        org_id=uuid.UUID(p["org_id"]) if p.get("org_id") else None,
        rows_total=job.rows_total,
        rows_done=job.rows_done,
        percent=job.percent,
        counts=counts,
        error=error,
        attempts=job.attempts,
        created_by=job.created_by_name,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


@dataclass
class _UploadOperation(Operation):
    """The upload handler reads the body as a stream, so describe the form by hand."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="名册文件（.xlsx 或 .csv）/ the roster file",
            content={
                "multipart/form-data": OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=["file"],
                        properties={
                            "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                            "dry_run": Schema(type=OpenAPIType.BOOLEAN, default=False),
                            "org_id": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.UUID),
                        },
                    )
                )
            },
        )


# A stream of ``event:``/``data:`` lines, not one JSON document.
EVENTS_OPERATION = success_operation(
    media={"text/event-stream": BINARY},
    headers={
        "Connection": header("keep-alive: the stream stays open", required=False),
        "X-Accel-Buffering": header("no: proxies pass each event at once", required=False),
    },
)
ATTACHMENT_OPERATION = success_operation(headers={"Content-Disposition": ATTACHMENT})
# Litestar's file response documents Last-Modified as an ISO date-time; it is an HTTP date.
FILE_OPERATION = success_operation(
    headers={"Content-Disposition": ATTACHMENT, "Last-Modified": header("when it was written")}
)


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@lru_cache(maxsize=1)
def _template_xlsx() -> bytes:
    return template_xlsx()


class RosterController(Controller):
    path = "/api/v1/roster"
    tags = ["staff: roster import"]

    @get(
        "/template.xlsx",
        summary="名册模板 (.xlsx, with instructions)",
        media_type=XLSX_MEDIA,
        operation_class=ATTACHMENT_OPERATION,
    )
    async def template_xlsx(self, staff: Principal) -> Response[bytes]:
        return Response(
            _template_xlsx(), media_type=XLSX_MEDIA, headers=_attachment("roster-template.xlsx")
        )

    @get(
        "/template.csv",
        summary="名册模板 (.csv, UTF-8)",
        media_type="text/csv",
        operation_class=ATTACHMENT_OPERATION,
    )
    async def template_csv(self, staff: Principal) -> Response[bytes]:
        return Response(
            template_csv(),
            media_type="text/csv; charset=utf-8",
            headers=_attachment("roster-template.csv"),
        )

    @post(
        "/imports",
        status_code=202,
        request_max_body_size=None,  # streamed to disk; UNIONCARD_UPLOAD_MAX_MB is enforced
        operation_class=_UploadOperation,
        responses=problem_responses(
            {"upload_too_large": (413, "文件过大", "The file is too large")}, "upload_too_large"
        ),
        summary="Upload a roster (.xlsx/.csv); imports in the background (dry_run: check only)",
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        staff: Principal,
        state: State,
        db_session: AsyncSession,
        dry_run: bool | None = None,
        org_id: uuid.UUID | None = None,
    ) -> ImportOut:
        if not staff.can(Perm.member_write):
            raise Forbidden(
                "import_forbidden", "您的角色无权导入会员", "your role may not import members"
            )
        job = await import_upload(request, state, staff, db_session, org_id=org_id, dry_run=dry_run)
        return import_out(job)

    @get("/imports", summary="Roster imports in my subtrees, newest first")
    async def list_imports(
        self, staff: Principal, db_session: AsyncSession, limit: Limit = 20, offset: Offset = 0
    ) -> ImportPage:
        rows, total = await jobs.list_jobs(
            db_session, staff, kind=ROSTER_IMPORT, limit=limit, offset=offset
        )
        return ImportPage([import_out(j) for j in rows], total, limit, offset)

    @get("/imports/{import_id:uuid}", summary="An import's status and progress (poll this)")
    async def detail(
        self, staff: Principal, db_session: AsyncSession, import_id: uuid.UUID
    ) -> ImportOut:
        return import_out(
            await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        )

    @get(
        "/imports/{import_id:uuid}/events",
        summary="Progress pushed as Server-Sent Events (event: progress …, then done)",
        operation_class=EVENTS_OPERATION,
    )
    async def events(
        self, staff: Principal, state: State, db_session: AsyncSession, import_id: uuid.UUID
    ) -> ServerSentEvent:
        await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        sessionmaker = make_sessionmaker(state.engine)

        async def stream() -> Any:
            loop = asyncio.get_running_loop()
            started = last_sent = loop.time()
            last: tuple[Any, ...] | None = None
            while loop.time() - started < SSE_MAX_SECONDS:
                async with sessionmaker() as session:
                    job = await session.get(Job, import_id)
                if job is None:
                    return
                out = import_out(job)
                key = (job.status, job.phase, job.rows_done, job.percent)
                data = msgspec.json.encode(out).decode()
                if key != last:
                    last, last_sent = key, loop.time()
                    yield ServerSentEventMessage(event="progress", data=data, id=str(job.rows_done))
                elif loop.time() - last_sent > SSE_KEEPALIVE_SECONDS:
                    last_sent = loop.time()
                    yield ServerSentEventMessage(comment="keepalive")
                if job.status in TERMINAL:
                    yield ServerSentEventMessage(event="done", data=data)
                    return
                await asyncio.sleep(SSE_POLL_SECONDS)

        return ServerSentEvent(stream(), retry_duration=2000)

    @get("/imports/{import_id:uuid}/errors", summary="Row errors of an import (paginated)")
    async def errors(
        self,
        staff: Principal,
        db_session: AsyncSession,
        import_id: uuid.UUID,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> RowErrorPage:
        job = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        rows, total = await service.error_page(db_session, job, limit=limit, offset=offset)
        return RowErrorPage(
            [
                RowErrorOut(e.row_no, e.column, e.value, e.code, e.reason_zh, e.reason_en)
                for e in rows
            ],
            total,
            limit,
            offset,
        )

    @get(
        "/imports/{import_id:uuid}/errors.csv",
        summary="Error report as CSV",
        media_type="text/csv",
        operation_class=ATTACHMENT_OPERATION,
    )
    async def errors_csv(
        self, staff: Principal, state: State, db_session: AsyncSession, import_id: uuid.UUID
    ) -> Stream:
        await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        sessionmaker = make_sessionmaker(state.engine)

        async def chunks() -> Any:
            async with sessionmaker() as session:
                async for chunk in csv_chunks(service.iter_errors(session, import_id)):
                    yield chunk

        return Stream(
            chunks(),
            media_type="text/csv; charset=utf-8",
            headers=_attachment(f"roster-errors-{import_id}.csv"),
        )

    @get(
        "/imports/{import_id:uuid}/errors.xlsx",
        summary="Error report as XLSX",
        media_type=XLSX_MEDIA,
        operation_class=FILE_OPERATION,
    )
    async def errors_xlsx(
        self, staff: Principal, db_session: AsyncSession, import_id: uuid.UUID
    ) -> File:
        await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        path = await xlsx_file(service.iter_errors(db_session, import_id))
        return File(
            path=path,
            filename=f"roster-errors-{import_id}.xlsx",
            media_type=XLSX_MEDIA,
            background=BackgroundTask(os.unlink, path),
        )

    @post(
        "/imports/{import_id:uuid}/apply",
        status_code=202,
        summary="Run a finished dry run for real",
    )
    async def apply(
        self, staff: Principal, state: State, db_session: AsyncSession, import_id: uuid.UUID
    ) -> ImportOut:
        dry = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        job = await service.apply_dry_run(db_session, state.settings, staff, dry)
        await db_session.commit()
        if runner := getattr(state, "jobs", None):
            runner.wake()
        return import_out(job)

    @post("/imports/{import_id:uuid}/cancel", status_code=200, summary="Stop an import")
    async def cancel(
        self, staff: Principal, db_session: AsyncSession, import_id: uuid.UUID
    ) -> ImportOut:
        job = await jobs.get_visible_job(db_session, staff, import_id, kind=ROSTER_IMPORT)
        if (
            job.org_path
            and not staff.can(Perm.member_write, job.org_path)
            and staff.id != job.created_by
        ):
            raise Forbidden(
                "import_forbidden", "您的角色无权取消该导入", "your role may not cancel it"
            )
        return import_out(await jobs.request_cancel(db_session, job))

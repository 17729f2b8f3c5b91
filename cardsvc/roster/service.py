"""Starting, reading and listing roster imports (jobs of kind ``roster.import``)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs import service as jobs
from cardsvc.jobs.models import Job, JobStatus
from cardsvc.kernel.errors import Conflict, NotFound, ValidationError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import Org
from cardsvc.roster.files import StoredFile, purge_old
from cardsvc.roster.job import ROSTER_IMPORT, import_params
from cardsvc.roster.models import RosterImportError
from cardsvc.roster.readers import XLSX, check_zip, sniff_format
from cardsvc.roster.rows import today_in

_FILENAME_JUNK = re.compile(r"[\x00-\x1f\x7f/\\]+")


def clean_filename(name: str | None) -> str:
    name = _FILENAME_JUNK.sub("_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip()
    return name[:128] or "roster"


async def target_org(session: AsyncSession, actor: Principal, org_id: uuid.UUID | None) -> Org:
    """The subtree the import writes into: the one given, or the staff's only one."""
    if org_id is not None:
        org = await session.get(Org, org_id)
        if org is None or not actor.can(Perm.member_write, org.path):
            raise NotFound("org_not_found", "未找到该组织", "Org not found")
        return org
    roots: list[str] = []
    for path in sorted(set(actor.paths(Perm.member_write)), key=len):
        if not any(path.startswith(r) for r in roots):
            roots.append(path)
    if actor.is_system or len(roots) != 1:
        if not roots and not actor.is_system:
            raise NotFound(
                "org_not_found", "您没有可导入会员的组织", "You manage no org to import into"
            )
        raise ValidationError.field(
            "org_id",
            "您管理多个组织，请指定导入到哪个组织（org_id）",
            "you manage several orgs; say which one to import into (org_id)",
        )
    org = await session.scalar(select(Org).where(Org.path == roots[0]))
    if org is None:
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    return org


def sniff(head: bytes, filename: str) -> str:
    """``xlsx`` or ``csv`` by content; cheap enough to answer while the client waits."""
    return sniff_format(head, filename)


def check_package(stored: StoredFile, fmt: str) -> None:
    """A real xlsx package (not a renamed zip, not a zip bomb), before queueing a job."""
    if fmt == XLSX:
        check_zip(stored.path)


async def start_import(
    session: AsyncSession,
    settings: Settings,
    actor: Principal,
    *,
    stored: StoredFile,
    fmt: str,
    filename: str,
    dry_run: bool,
    org: Org,
) -> Job:
    params = import_params(
        path=stored.path,
        sha256=stored.sha256,
        size=stored.size,
        filename=filename,
        fmt=fmt,
        dry_run=dry_run,
        org_id=org.id,
        org_path=org.path,
        today=today_in(settings.time_zone),
        ip=actor.ip,
        request_id=actor.request_id,
    )
    job = jobs.enqueue(
        session,
        ROSTER_IMPORT,
        params,
        actor=actor,
        org_path=org.path,
        max_attempts=settings.job_max_attempts,
    )
    await session.flush()
    return job


async def apply_dry_run(
    session: AsyncSession, settings: Settings, actor: Principal, dry: Job
) -> Job:
    """A real run of a finished dry run's file, without uploading it again."""
    from pathlib import Path

    if not dry.params.get("dry_run") or dry.status != JobStatus.succeeded:
        raise Conflict(
            "not_a_finished_dry_run",
            "只能对已完成的试导入执行正式导入",
            "only a finished dry run can be applied",
        )
    org = await target_org(session, actor, uuid.UUID(dry.params["org_id"]))
    path = Path(dry.params["path"])
    if not await asyncio.to_thread(path.exists):
        raise Conflict(
            "upload_missing",
            "试导入的文件已过期被清理，请重新上传",
            "the dry run's file has expired; upload it again",
        )
    params = {**dry.params, "dry_run": False, "ip": actor.ip, "request_id": actor.request_id}
    params["today"] = today_in(settings.time_zone).isoformat()
    params["source_job"] = str(dry.id)
    job = jobs.enqueue(
        session,
        ROSTER_IMPORT,
        params,
        actor=actor,
        org_path=org.path,
        max_attempts=settings.job_max_attempts,
    )
    await session.flush()
    return job


async def error_page(
    session: AsyncSession, job: Job, *, limit: int, offset: int
) -> tuple[list[RosterImportError], int]:
    cond = RosterImportError.job_id == job.id
    total = (
        await session.execute(select(func.count()).select_from(RosterImportError).where(cond))
    ).scalar()
    rows = await session.scalars(
        select(RosterImportError)
        .where(cond)
        .order_by(RosterImportError.row_no, RosterImportError.id)
        .limit(limit)
        .offset(offset)
    )
    return list(rows), int(total or 0)


@dataclass(frozen=True, slots=True)
class ErrorGroup:
    """All the rows of one import that failed for the same reason in the same column."""

    code: str
    column: str | None
    reason_zh: str
    reason_en: str
    count: int
    first_rows: list[int]


async def error_groups(session: AsyncSession, job: Job, *, sample: int = 10) -> list[ErrorGroup]:
    """A job's row errors grouped by reason, most frequent first, with the first rows of each."""
    key = (RosterImportError.code, RosterImportError.column)
    counted = await session.execute(
        select(
            *key,
            func.min(RosterImportError.reason_zh),
            func.min(RosterImportError.reason_en),
            func.count(),
        )
        .where(RosterImportError.job_id == job.id)
        .group_by(*key)
    )
    groups = []
    for code, column, zh, en, count in counted.all():
        first = await session.scalars(
            select(RosterImportError.row_no)
            .where(
                RosterImportError.job_id == job.id,
                RosterImportError.code == code,
                RosterImportError.column.is_(None)
                if column is None
                else RosterImportError.column == column,
            )
            .order_by(RosterImportError.row_no)
            .limit(sample)
        )
        groups.append(ErrorGroup(code, column, zh, en, int(count), list(first)))
    return sorted(groups, key=lambda g: (-g.count, g.first_rows[:1]))


async def iter_errors(
    session: AsyncSession, job_id: uuid.UUID, page: int = 2000
) -> AsyncIterator[Any]:
    """All of a job's row errors in row order, a page at a time (keyset, not offset)."""
    after: tuple[int, uuid.UUID] | None = None
    while True:
        q = select(RosterImportError).where(RosterImportError.job_id == job_id)
        if after is not None:
            q = q.where(
                (RosterImportError.row_no > after[0])
                | ((RosterImportError.row_no == after[0]) & (RosterImportError.id > after[1]))
            )
        rows = list(
            await session.scalars(
                q.order_by(RosterImportError.row_no, RosterImportError.id).limit(page)
            )
        )
        for r in rows:
            yield r
        if len(rows) < page:
            return
        after = (rows[-1].row_no, rows[-1].id)


async def purge_uploads(session: AsyncSession, settings: Settings) -> int:
    """Delete uploads older than a day that no unfinished import still needs (PII hygiene)."""
    active = await session.scalars(
        select(Job.params).where(
            Job.kind == ROSTER_IMPORT, Job.status.in_([JobStatus.queued, JobStatus.running])
        )
    )
    keep = {str((p or {}).get("sha256")) for p in active}
    return await asyncio.to_thread(purge_old, settings, keep)

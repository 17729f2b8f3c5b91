"""Reconciliation of the benefit counters with the ledger, as a scheduled background job.

The engine's ``reconcile`` (the ledger is the truth; drifted counters are rewritten) runs as
the job kind ``benefits.reconcile``: on the schedule (``UNIONCARD_RECONCILE_INTERVAL_MINUTES``)
and when staff ask for a run. Its result (counts, and every drift with its programme) is kept
on the job row, so the last run is the newest finished job of the kind. Staff see only the
drifts of programmes they may read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import BenefitsError, get_program, reconcile
from cardsvc.jobs import service as jobs
from cardsvc.jobs.models import TERMINAL, Job, JobStatus
from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import Forbidden
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal

RECONCILE_JOB = "benefits.reconcile"
RECONCILE_SCHEDULE = "benefits.reconcile"
MAX_DRIFTS_KEPT = 500  # a run with more keeps the first ones and the total
_PENDING = frozenset({JobStatus.queued, JobStatus.running})


async def _programmes(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, Any]:
    out: dict[uuid.UUID, Any] = {}
    for pid in ids:
        try:
            out[pid] = await get_program(session, program_id=pid)
        except BenefitsError:  # counters of a programme since deleted: shown by id
            continue
    return out


async def run_reconcile_job(ctx: Any) -> dict[str, Any]:
    """Job handler: reconcile every programme's counters and fix the drifted ones."""
    async with ctx.sessionmaker() as session:
        report = await reconcile(session, fix=True)
        progs = await _programmes(session, {d.program_id for d in report.drifts})
    drifts = []
    for d in report.drifts[:MAX_DRIFTS_KEPT]:
        p = progs.get(d.program_id)
        drifts.append(
            {
                "program_id": str(d.program_id),
                "program_code": p.code if p else None,
                "program_name": p.name if p else None,
                "owner_org_path": p.owner_org_path if p else None,
                "policy": d.policy,
                "metric": d.metric,
                "period_key": d.period_key,
                "counter_used": d.counter_used,
                "ledger_used": d.ledger_used,
            }
        )
    return {
        "ok": report.ok,
        "fixed": report.fixed,
        "counters_checked": report.counters_checked,
        "redemptions_read": report.redemptions_read,
        "drifts_total": len(report.drifts),
        "drifts": drifts,
    }


@dataclass(frozen=True, slots=True)
class ReconcileStatus:
    """The last finished run as one viewer may see it, and whether another is under way."""

    last: Job | None
    pending: Job | None
    drifts: list[dict[str, Any]]  # of the last run, only programmes the viewer may read
    drifts_hidden: int  # drifts of programmes outside the viewer's scope
    can_run: bool

    @property
    def finished_at(self) -> datetime | None:
        return self.last.finished_at if self.last else None

    @property
    def result(self) -> dict[str, Any]:
        return (self.last.result or {}) if self.last else {}

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.status != JobStatus.succeeded


def _require_read(viewer: Principal) -> None:
    if not viewer.can(Perm.benefits_read):
        raise Forbidden(
            "forbidden", "您的角色无权查看核对结果", "Your role may not view reconciliation"
        )


async def reconcile_status(session: AsyncSession, viewer: Principal) -> ReconcileStatus:
    """The last reconciliation run and any drift it found, for a viewer with benefits.read."""
    _require_read(viewer)
    last = await jobs.latest_of_kind(session, RECONCILE_JOB, statuses=TERMINAL)
    pending = await jobs.latest_of_kind(session, RECONCILE_JOB, statuses=_PENDING)
    all_drifts = list(((last.result or {}) if last else {}).get("drifts", []))
    mine = [
        d
        for d in all_drifts
        if d.get("owner_org_path") and viewer.can(Perm.benefits_read, d["owner_org_path"])
    ]
    return ReconcileStatus(
        last=last,
        pending=pending,
        drifts=mine,
        drifts_hidden=len(all_drifts) - len(mine),
        can_run=viewer.can(Perm.benefits_write),
    )


async def request_reconcile(session: AsyncSession, actor: Principal) -> Job:
    """Queue a run now (or return the one already queued or running); audited. Caller
    commits and wakes the runner."""
    if not actor.can(Perm.benefits_write):
        raise Forbidden(
            "forbidden", "您的角色无权发起核对", "Your role may not start a reconciliation"
        )
    job = await jobs.latest_of_kind(session, RECONCILE_JOB, statuses=_PENDING)
    if job is None:
        job = jobs.enqueue(session, RECONCILE_JOB, {}, actor=actor, max_attempts=1)
        await session.flush()
    record(
        session,
        actor,
        "benefits.reconcile_run",
        target_type="job",
        target_id=job.id,
        org_path=None,
        summary={"queued": job.status == JobStatus.queued},
    )
    return job

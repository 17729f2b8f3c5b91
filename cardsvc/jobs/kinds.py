"""Every job kind cardsvc runs, and the services its handlers need (one place, like models)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cardsvc.jobs.runner import JobHandler
from cardsvc.jobs.schedule import Periodic
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings


def all_handlers() -> dict[str, JobHandler]:
    from cardsvc.privacy.retention import RETENTION_JOB, run_retention_job
    from cardsvc.roster.job import ROSTER_IMPORT, run_roster_import
    from cardsvc.servicereq.sweep import SERVICE_SWEEP, run_sweep_job

    return {
        ROSTER_IMPORT: run_roster_import,
        RETENTION_JOB: run_retention_job,
        SERVICE_SWEEP: run_sweep_job,
    }


def schedule_for(settings: Settings) -> list[Periodic]:
    """Periodic jobs: the privacy retention purge and the service-request sweep (each off when
    its interval is 0)."""
    from cardsvc.privacy.retention import RETENTION_JOB
    from cardsvc.servicereq.sweep import SERVICE_SWEEP

    out: list[Periodic] = []
    if settings.retention_interval_hours > 0:
        every = timedelta(hours=settings.retention_interval_hours)
        out.append(Periodic("privacy.retention", RETENTION_JOB, every))
    if settings.service_sweep_seconds > 0:
        every = timedelta(seconds=settings.service_sweep_seconds)
        out.append(Periodic("service.sweep", SERVICE_SWEEP, every))
    return out


def services_for(settings: Settings) -> dict[str, Any]:
    from cardsvc.memberauth.senders import make_sender

    return {"cipher": PiiCipher.from_settings(settings), "sender": make_sender(settings.sms_sender)}

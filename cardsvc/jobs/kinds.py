"""Every job kind cardsvc runs, and the services its handlers need (one place, like models)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cardsvc.jobs.runner import JobHandler
from cardsvc.jobs.schedule import Periodic
from cardsvc.pii import PiiCipher
from cardsvc.settings import Settings


def all_handlers() -> dict[str, JobHandler]:
    from cardsvc.privacy.retention import RETENTION_JOB, run_retention_job
    from cardsvc.roster.job import ROSTER_IMPORT, run_roster_import

    return {ROSTER_IMPORT: run_roster_import, RETENTION_JOB: run_retention_job}


def schedule_for(settings: Settings) -> list[Periodic]:
    """Periodic jobs: the privacy retention purge (off when its interval is 0)."""
    from cardsvc.privacy.retention import RETENTION_JOB

    if settings.retention_interval_hours <= 0:
        return []
    every = timedelta(hours=settings.retention_interval_hours)
    return [Periodic("privacy.retention", RETENTION_JOB, every)]


def services_for(settings: Settings) -> dict[str, Any]:
    return {"cipher": PiiCipher.from_settings(settings)}

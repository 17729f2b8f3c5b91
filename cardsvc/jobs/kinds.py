"""Every job kind cardsvc runs, and the services its handlers need (one place, like models)."""

from __future__ import annotations

from typing import Any

from cardsvc.jobs.runner import JobHandler
from cardsvc.pii import PiiCipher
from cardsvc.settings import Settings


def all_handlers() -> dict[str, JobHandler]:
    from cardsvc.roster.job import ROSTER_IMPORT, run_roster_import

    return {ROSTER_IMPORT: run_roster_import}


def services_for(settings: Settings) -> dict[str, Any]:
    return {"cipher": PiiCipher.from_settings(settings)}

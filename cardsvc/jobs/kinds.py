"""Every job kind cardsvc runs, and the services its handlers need (one place, like models)."""

from __future__ import annotations

from typing import Any

from cardsvc.jobs.runner import JobHandler, Periodic
from cardsvc.pii import PiiCipher
from cardsvc.settings import Settings


def all_handlers() -> dict[str, JobHandler]:
    from cardsvc.roster.job import ROSTER_IMPORT, run_roster_import

    return {ROSTER_IMPORT: run_roster_import}


def all_periodic(settings: Settings) -> list[Periodic]:
    from cardsvc.servicereq.sweep import periodic_sweep

    return [("service_sweep", float(settings.service_sweep_seconds), periodic_sweep)]


def services_for(settings: Settings) -> dict[str, Any]:
    from cardsvc.memberauth.senders import make_sender

    return {"cipher": PiiCipher.from_settings(settings), "sender": make_sender(settings.sms_sender)}

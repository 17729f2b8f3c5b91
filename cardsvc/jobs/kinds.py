"""The job kinds the runner knows, and the periodic ones: registered by the composition root
(``cardsvc.wiring``), so that jobs imports none of the packages whose work it runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cardsvc.jobs.runner import JobHandler
from cardsvc.jobs.schedule import Periodic
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.settings import Settings


@dataclass(frozen=True, slots=True)
class _Kind:
    handler: JobHandler
    schedule: str | None  # the schedule entry's name, for periodic kinds
    every: Callable[[Settings], timedelta] | None  # a zero interval turns the schedule off


_KINDS: dict[str, _Kind] = {}


def register_kind(
    kind: str,
    handler: JobHandler,
    *,
    schedule: str | None = None,
    every: Callable[[Settings], timedelta] | None = None,
) -> None:
    """A kind of job and its handler; with ``schedule`` and ``every``, also run periodically."""
    _KINDS[kind] = _Kind(handler, schedule, every)


def _kinds() -> dict[str, _Kind]:
    if not _KINDS:
        raise RuntimeError("job kinds are not wired: call cardsvc.wiring.wire() first")
    return _KINDS


def all_handlers() -> dict[str, JobHandler]:
    return {kind: k.handler for kind, k in _kinds().items()}


def schedule_for(settings: Settings) -> list[Periodic]:
    """The periodic jobs (the privacy retention purge, the service-request sweep), each left out
    when its interval is 0."""
    out: list[Periodic] = []
    for kind, k in _kinds().items():
        if k.schedule is not None and k.every is not None:
            every = k.every(settings)
            if every > timedelta(0):
                out.append(Periodic(k.schedule, kind, every))
    return out


def services_for(settings: Settings) -> dict[str, Any]:
    from cardsvc.memberauth.senders import make_sender

    return {"cipher": PiiCipher.from_settings(settings), "sender": make_sender(settings.sms_sender)}

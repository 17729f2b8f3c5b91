"""Service-level times: how long a union has to accept and to resolve each kind of request.

The nearest org on the path (the union itself, then its ancestors) that set times for the kind
wins; otherwise the settings' defaults (``UNIONCARD_SERVICE_SLA``), then the built-in ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import ValidationError
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.models import Org
from cardsvc.servicereq.models import RequestKind, ServiceLevel

# (accept, resolve) hours: legal and hardship cases first, enrolments can wait.
BUILTIN_SLA: dict[RequestKind, tuple[int, int]] = {
    RequestKind.hardship: (24, 168),
    RequestKind.legal_aid: (24, 240),
    RequestKind.medical_aid: (48, 336),
    RequestKind.childcare: (48, 336),
    RequestKind.training: (72, 336),
    RequestKind.other: (72, 336),
}
MAX_HOURS = 24 * 365


@dataclass(frozen=True, slots=True)
class Sla:
    kind: RequestKind
    accept_hours: int
    resolve_hours: int
    source: str  # "org:<code>" | "settings" | "default"
    org_id: uuid.UUID | None = None


def default_sla(kind: RequestKind, settings_sla: dict[str, tuple[int, int]]) -> Sla:
    if kind.value in settings_sla:
        a, r = settings_sla[kind.value]
        return Sla(kind, a, r, "settings")
    a, r = BUILTIN_SLA[kind]
    return Sla(kind, a, r, "default")


def _ancestor_ids(path: str) -> list[uuid.UUID]:
    return [uuid.UUID(hex=p) for p in path.strip("/").split("/") if p]


async def effective_sla(
    session: AsyncSession,
    org_path: str,
    kind: RequestKind,
    settings_sla: dict[str, tuple[int, int]],
) -> Sla:
    ids = _ancestor_ids(org_path)
    rows = {
        r.org_id: r
        for r in await session.scalars(
            select(ServiceLevel).where(ServiceLevel.org_id.in_(ids), ServiceLevel.kind == kind)
        )
    }
    for org_id in reversed(ids):  # nearest first
        if (row := rows.get(org_id)) is not None:
            return Sla(kind, row.accept_hours, row.resolve_hours, "org", org_id)
    return default_sla(kind, settings_sla)


async def set_sla(
    session: AsyncSession,
    actor: Principal,
    org: Org,
    kind: RequestKind,
    *,
    accept_hours: int | None,
    resolve_hours: int | None,
) -> ServiceLevel | None:
    """Set (or, with both hours None, remove) the org's times for ``kind``; audited."""
    row = await session.scalar(
        select(ServiceLevel).where(ServiceLevel.org_id == org.id, ServiceLevel.kind == kind)
    )
    before = {"accept_hours": row.accept_hours, "resolve_hours": row.resolve_hours} if row else None
    if accept_hours is None and resolve_hours is None:
        if row is not None:
            await session.delete(row)
        after = None
    else:
        if accept_hours is None or resolve_hours is None:
            raise ValidationError.field(
                "accept_hours", "受理时限与办结时限需同时填写", "give both accept and resolve hours"
            )
        for name, value in (("accept_hours", accept_hours), ("resolve_hours", resolve_hours)):
            if not 1 <= value <= MAX_HOURS:
                raise ValidationError.field(
                    name, f"时限应为 1–{MAX_HOURS} 小时", f"must be 1–{MAX_HOURS} hours"
                )
        if accept_hours > resolve_hours:
            raise ValidationError.field(
                "accept_hours", "受理时限不能长于办结时限", "accept hours exceed resolve hours"
            )
        if row is None:
            row = ServiceLevel(org_id=org.id, org_path=org.path, kind=kind)
            session.add(row)
        row.accept_hours, row.resolve_hours, row.updated_by = (
            accept_hours,
            resolve_hours,
            actor.username,
        )
        after = {"accept_hours": accept_hours, "resolve_hours": resolve_hours}
    record(
        session,
        actor,
        "service.sla",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={"kind": kind.value, "before": before, "after": after},
    )
    await session.flush()
    return row if after else None

"""Stores imported in bulk, row by row, from a spreadsheet (the console) or a JSON list (the
API): one function, :func:`import_rows`, for both. Each row on its own: a bad row is reported
(where, which field, why) and the good ones are applied. A store is known by its name (unique
per merchant): a row naming an existing store updates it, and a row that changes nothing is
left alone, so importing the same rows again changes nothing (idempotent). Each row goes
through the same calls as the API (``create_store`` / ``update_store`` then ``set_details``:
checked and audited). ``dry_run`` checks every row and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.errors import AppError
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from merchants.directory.amenities import from_mask
from merchants.directory.edit import Pin, set_details
from merchants.directory.hours import DAYS
from merchants.models import Store
from merchants.onboarding import validation as check
from merchants.onboarding.service import create_store, get_merchant
from merchants.onboarding.stores import update_store

MAX_ROWS = 2000


@dataclass(frozen=True, slots=True)
class StoreRow:
    """One store as a row gives it; empty optional fields leave an existing store's as is."""

    name: str
    address: str
    region: str
    pin: Pin | None = None
    phone: str = ""
    daily_hours: tuple[str, ...] = ()  # the same spans every day, e.g. ("09:00-21:00",)
    amenities: tuple[str, ...] = ()  # amenity names (merchants.directory.amenities)


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # as the source numbers it (spreadsheet row; position in the JSON list)
    field: str  # the row's field (``name``, ``location``, ``hours.weekly.mon[0]``…); "" whole row
    reason_zh: str
    reason_en: str


@dataclass(slots=True)
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged


Outcome = Literal["created", "updated", "unchanged"]


def _snapshot(store: Store) -> tuple[Any, ...]:
    return (
        store.address,
        store.region,
        store.latitude,
        store.longitude,
        store.phone,
        store.hours,
        from_mask(store.amenities or 0),
    )


async def _apply(
    session: AsyncSession, actor: Principal, merchant_id: uuid.UUID, row: StoreRow
) -> Outcome:
    name = check.text("name", row.name, 2, 128)
    store = await session.scalar(
        select(Store).where(Store.merchant_id == merchant_id, Store.name == name)
    )
    before = _snapshot(store) if store is not None else None
    if store is None:
        store = await create_store(
            session, actor, merchant_id, name=name, address=row.address, region=row.region
        )
    else:
        await update_store(session, actor, store.id, address=row.address, region=row.region)
    hours = None
    if row.daily_hours:  # the weekly pattern; the store's dated closures are kept
        closures = (store.hours or {}).get("closures") or []
        hours = {"weekly": {d: list(row.daily_hours) for d in DAYS}, "closures": closures}
    await set_details(
        session,
        actor,
        store.id,
        pin=row.pin,
        phone=row.phone or None,
        hours=hours,
        amenities=list(row.amenities) or None,
    )
    await session.flush()
    if before is None:
        return "created"
    return "unchanged" if _snapshot(store) == before else "updated"


async def import_rows(
    session: AsyncSession,
    actor: Principal,
    merchant_id: uuid.UUID,
    rows: Iterable[tuple[int, StoreRow | AppError]],
    *,
    dry_run: bool,
    source: str,
) -> ImportResult:
    """Apply each ``(row number, row)``; a row that could not even be read comes as its
    error. Audited once for the import (and each store's change by its own call)."""
    merchant = await get_merchant(session, actor, merchant_id, Perm.merchants_write)
    result = ImportResult()
    for n, row in rows:
        if isinstance(row, AppError):
            _problems(result, n, row)
            continue
        savepoint = await session.begin_nested()
        try:
            outcome = await _apply(session, actor, merchant.id, row)
        except AppError as exc:
            await savepoint.rollback()
            _problems(result, n, exc)
            continue
        setattr(result, outcome, getattr(result, outcome) + 1)
        # A row that changes nothing leaves no trace (not even its calls' audit rows).
        await (savepoint.rollback() if dry_run or outcome == "unchanged" else savepoint.commit())
    record(
        session,
        actor,
        "store.import",
        target_type="merchant",
        target_id=merchant.id,
        org_path=merchant.org_path,
        summary={
            "source": source,
            "dry_run": dry_run,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "problems": len({p.row for p in result.problems}),
        },
    )
    return result


def _problems(result: ImportResult, n: int, exc: AppError) -> None:
    for e in exc.errors or []:
        result.problems.append(RowProblem(n, e.field, e.reason_zh, e.reason_en))
    if not exc.errors:
        result.problems.append(RowProblem(n, "", exc.message_zh, exc.message_en))

"""What each package holds about a member, gathered in one place for the privacy duties.

Each part names sections of the access export, erasure hooks, retention purges and the
encrypted columns that a data-key rotation rewrites. cardsvc's own core part is here; the other
parts (service requests, the ledger, the scan log…) sit beside the data they describe and the
composition root registers them (``cardsvc.privacy.registry``, in ``cardsvc.app`` and
``cardsvc.cli``), so that this module imports none of them. A package that starts holding
personal data registers its part there (and says so in docs/privacy.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.settings import Settings
from cardsvc.privacy.registry import registered_parts

# Rows about one member, as JSON-ready dicts.
ExportSection = Callable[[AsyncSession, uuid.UUID], Awaitable[list[dict[str, Any]]]]
# Erase (delete or anonymise) what a package holds about one member; returns row counts.
EraseHook = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
# Delete at most ``limit`` rows past their retention; returns how many (0: nothing left).
Purge = Callable[[AsyncSession, datetime, Settings, int], Awaitable[int]]


@dataclass(frozen=True, slots=True)
class EncryptedTable:
    """A table with PiiCipher ciphertexts: ``fields`` maps column → the cipher's field name."""

    table: Table
    fields: Mapping[str, str]
    key_id_column: str | None = None  # kept equal to the key that encrypted the row

    @property
    def name(self) -> str:
        return self.table.name


@dataclass(frozen=True, slots=True)
class PrivacyParts:
    export_sections: Mapping[str, ExportSection] = field(default_factory=dict)
    erase_hooks: Mapping[str, EraseHook] = field(default_factory=dict)
    purges: Mapping[str, Purge] = field(default_factory=dict)
    encrypted: Sequence[EncryptedTable] = ()
    # Files no row refers to any more, deleted once an erasure has committed (an erase hook
    # cannot: its transaction may still roll back) and by every retention run.
    file_sweeps: Mapping[str, Purge] = field(default_factory=dict)

    def __add__(self, other: PrivacyParts) -> PrivacyParts:
        return PrivacyParts(
            {**self.export_sections, **other.export_sections},
            {**self.erase_hooks, **other.erase_hooks},
            {**self.purges, **other.purges},
            (*self.encrypted, *other.encrypted),
            {**self.file_sweeps, **other.file_sweeps},
        )


async def purge_older(session: AsyncSession, table: Table, conds: Sequence[Any], limit: int) -> int:
    """Delete up to ``limit`` rows matching ``conds``: short transactions on big tables."""
    ids = select(table.c.id).where(*conds).limit(limit)
    result = await session.execute(
        delete(table).where(table.c.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # typed Result; DML gives a CursorResult


async def _purge_applications(
    session: AsyncSession, now: datetime, settings: Settings, limit: int
) -> int:
    """Join applications that never became a membership, past their retention."""
    from cardsvc.membership.models import JoinApplication, RequestStatus

    t = cast(Table, JoinApplication.__table__)  # a declarative model's: a Table
    cutoff = now - timedelta(days=settings.application_retention_days)
    return await purge_older(
        session,
        t,
        [
            t.c.status.in_([RequestStatus.rejected.value, RequestStatus.withdrawn.value]),
            t.c.decided_at < cutoff,
        ],
        limit,
    )


def cardsvc_parts() -> PrivacyParts:
    """The card service's own: members, applications and the card-signing keys."""
    from cardsvc.cards.keys import PRIVATE_KEY_FIELD
    from cardsvc.cards.models import SigningKey
    from cardsvc.members.models import Member
    from cardsvc.members.service import ID_FIELD, PHONE_FIELD
    from cardsvc.membership.models import JoinApplication

    identity = {"id_number_enc": ID_FIELD, "phone_enc": PHONE_FIELD}
    return PrivacyParts(
        purges={"join_applications": _purge_applications},
        encrypted=(
            # Declarative models' __table__ is a Table (SQLAlchemy types it as a FromClause).
            EncryptedTable(cast(Table, Member.__table__), identity, "data_key_id"),
            EncryptedTable(cast(Table, JoinApplication.__table__), identity, "data_key_id"),
            EncryptedTable(
                cast(Table, SigningKey.__table__),
                {"private_key_enc": PRIVATE_KEY_FIELD},
                "data_key_id",
            ),
        ),
    )


def all_parts() -> PrivacyParts:
    """cardsvc's core part and every registered one."""
    registered = registered_parts()
    if not registered:
        # Never run a purge, erasure or export that silently misses another package's data.
        raise RuntimeError("privacy parts are not wired: import cardsvc.app or cardsvc.cli first")
    parts = cardsvc_parts()
    for name, factory in registered.items():
        part = factory()
        if not isinstance(part, PrivacyParts):
            raise TypeError(f"privacy part {name!r} is a {type(part).__name__}, not PrivacyParts")
        parts = parts + part
    return parts

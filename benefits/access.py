"""What the benefits HTTP API needs from the host application, as plain types.

``benefits`` may not import ``cardsvc``, so the staff principal, the org and member lookups and
the audit log are described here as protocols; the composition root (``cardsvc/app.py``)
provides objects that fit them as Litestar dependencies (see :mod:`benefits.plugin`).

Scope rule: a programme belongs to its owner org's subtree. Staff read it where they hold
``benefits.read`` on an ancestor-or-self of the owner and change it where they hold
``benefits.write``; anything else is reported as not found (no existence leak), except a
reader who may not write, who gets ``forbidden``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from benefits.engine.results import ProgramView
from benefits.errors import BenefitsError, NotFound
from benefits.rules.facts import MemberFacts, MerchantContext

READ = "benefits.read"
WRITE = "benefits.write"


class StaffPrincipal(Protocol):
    """The signed-in staff member (``cardsvc.kernel.principal.Principal`` fits)."""

    @property
    def id(self) -> uuid.UUID | None: ...

    @property
    def username(self) -> str: ...

    @property
    def is_system(self) -> bool: ...

    def can(self, perm: Any, org_path: str | None = None) -> bool: ...

    def paths(self, perm: Any) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class MemberRef:
    """A member found for a staff simulation: the member number (to show) and the facts."""

    member_no: str
    facts: MemberFacts


class Directory(Protocol):
    """Read-only lookups in the host's org tree and member register."""

    async def org_path(self, org_id: uuid.UUID) -> str | None:
        """The materialised path (``"<id>/…/"``) of an org, or None if there is none."""
        ...

    async def find_member(
        self, *, member_id: uuid.UUID | None = None, member_no: str | None = None
    ) -> MemberRef | None: ...

    async def sample_members(self, org_path: str, limit: int) -> list[MemberRef]:
        """Up to ``limit`` members of the subtree at ``org_path`` (any status), stable order."""
        ...

    async def point_of_sale(
        self, *, merchant_id: uuid.UUID | None, store_id: uuid.UUID | None
    ) -> MerchantContext | None:
        """The merchant (and store) as a terminal there presents them: category, region and
        store; None if either does not exist or the store is another merchant's."""
        ...


class Audit(Protocol):
    """Adds an audit row to the request's transaction (it commits with the change)."""

    def __call__(
        self,
        action: str,
        target_type: str,
        target_id: uuid.UUID | str | None,
        org_path: str | None,
        summary: dict[str, Any] | None = None,
    ) -> None: ...


class Forbidden(BenefitsError):
    status = 403
    code = "forbidden"
    message_zh = "无权执行此操作"
    message_en = "You are not allowed to do this"


def program_not_found(program_id: uuid.UUID | str) -> NotFound:
    return NotFound(
        message_zh="未找到该普惠项目", message_en="Programme not found", program_id=str(program_id)
    )


def minimal_paths(paths: Sequence[str]) -> list[str]:
    """Drop paths already covered by an ancestor path in the list."""
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


def read_prefixes(staff: StaffPrincipal) -> list[str] | None:
    """Owner-path prefixes whose programmes ``staff`` may read; None = everything (system)."""
    if staff.is_system:
        return None
    return minimal_paths(staff.paths(READ))


def ensure_readable(staff: StaffPrincipal, program: ProgramView) -> None:
    if not staff.can(READ, program.owner_org_path):
        raise program_not_found(program.id)


def ensure_writable(staff: StaffPrincipal, program: ProgramView) -> None:
    ensure_readable(staff, program)
    if not staff.can(WRITE, program.owner_org_path):
        raise Forbidden(
            message_zh="您对该项目只有查看权限",
            message_en="You may view this programme but not change it",
        )

"""The signed-in staff member as plain data, with the role × subtree checks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from cardsvc.kernel.permissions import PERMISSIONS, Perm, Role


@dataclass(frozen=True, slots=True)
class Grant:
    role: Role
    org_id: uuid.UUID
    org_path: str


@dataclass(frozen=True, slots=True)
class Principal:
    id: uuid.UUID | None
    username: str
    display_name: str
    grants: tuple[Grant, ...] = field(default_factory=tuple)
    ip: str | None = None
    request_id: str | None = None
    # Operators' CLI and the demo seed act as the system: unrestricted, still audited.
    is_system: bool = False

    def paths(self, perm: Perm) -> list[str]:
        """Roots of the subtrees where this person holds ``perm``."""
        roles = PERMISSIONS[perm]
        return [g.org_path for g in self.grants if g.role in roles]

    def can(self, perm: Perm, org_path: str | None = None) -> bool:
        if self.is_system:
            return True
        paths = self.paths(perm)
        if org_path is None:
            return bool(paths)
        return any(org_path.startswith(p) for p in paths)

    def sees(self, org_path: str) -> bool:
        """Whether the target is inside any subtree this person has any role on."""
        return self.is_system or any(org_path.startswith(g.org_path) for g in self.grants)

    def scope_filter(
        self, column: InstrumentedAttribute[str | None], perm: Perm
    ) -> ColumnElement[bool]:
        """SQL condition: ``column`` (an org path) lies in a subtree where ``perm`` holds."""
        if self.is_system:
            return true()
        paths = _minimal(self.paths(perm))
        if not paths:
            return false()
        return or_(*(column.startswith(p, autoescape=True) for p in paths))


def _minimal(paths: Sequence[str]) -> list[str]:
    """Drop paths already covered by an ancestor path in the list."""
    out: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return out


SYSTEM = Principal(id=None, username="system", display_name="系统", is_system=True)

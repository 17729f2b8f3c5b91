"""The plain values the engine is given about a member and a point of sale.

The card service and the merchant API build these from their own tables; the engine never
reads another package's tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What eligibility needs to know about a member (no PII beyond the birth date).

    ``org_path`` is the materialised path of the member's org, ``"<id>/<id>/…/"`` from the
    root, so "in the subtree of org X" is a prefix test on the owner's path.
    """

    id: uuid.UUID
    status: str
    org_path: str
    categories: frozenset[str] = field(default_factory=frozenset)
    hardship_level: int | None = None
    joined_on: date | None = None
    birth_date: date | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class MerchantContext:
    """Where the redemption happens: merchant, store, terminal, the merchant's category, region."""

    merchant_id: uuid.UUID
    store_id: uuid.UUID | None = None
    terminal_id: uuid.UUID | None = None
    category: str | None = None
    region: str | None = None

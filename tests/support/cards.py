"""Constants and types shared by the card tests (importable, unlike conftest)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from cardsvc.members.models import Member

NOW = datetime(2026, 3, 1, 8, 0, 0, tzinfo=UTC)

MakeMember = Callable[..., Awaitable[Member]]

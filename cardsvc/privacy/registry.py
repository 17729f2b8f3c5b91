"""The other packages' privacy parts, registered by the composition root (``cardsvc.app``,
``cardsvc.cli``) and read by :func:`cardsvc.privacy.parts.all_parts`.

A light module on purpose: the CLI registers lazy factories here before any command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cardsvc.privacy.parts import PrivacyParts

_REGISTERED: dict[str, Callable[[], PrivacyParts]] = {}


def register_parts(name: str, factory: Callable[[], PrivacyParts]) -> None:
    """Add a package's part under ``name`` (registering a name again replaces it)."""
    _REGISTERED[name] = factory


def registered_parts() -> dict[str, Callable[[], PrivacyParts]]:
    return dict(_REGISTERED)

"""The other packages' privacy parts, registered by the composition root (``cardsvc.app``,
``cardsvc.cli``) and read by :func:`cardsvc.privacy.parts.all_parts`.

A light module on purpose: the CLI registers lazy factories here before any command runs. The
factories return ``cardsvc.privacy.parts.PrivacyParts`` (checked when they are read).
"""

from __future__ import annotations

from collections.abc import Callable

_REGISTERED: dict[str, Callable[[], object]] = {}


def register_parts(name: str, factory: Callable[[], object]) -> None:
    """Add a package's part under ``name`` (registering a name again replaces it)."""
    _REGISTERED[name] = factory


def registered_parts() -> dict[str, Callable[[], object]]:
    return dict(_REGISTERED)

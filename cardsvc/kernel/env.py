"""Reading ``UNIONCARD_*`` environment variables: text (or a ``*_FILE``), integers, flags and
seconds, and the parsers of the composite values; every bad value is a :class:`SettingsError`
naming the variable."""

from __future__ import annotations

import base64
import ipaddress
import os
from pathlib import Path

ENV_PREFIX = "UNIONCARD_"


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message says which variable and why."""


def env_text(name: str, default: str | None = None) -> str | None:
    """Read ``UNIONCARD_<name>``, or the file named by ``UNIONCARD_<name>_FILE``."""
    value = os.environ.get(ENV_PREFIX + name)
    if value is None and (path := os.environ.get(ENV_PREFIX + name + "_FILE")):
        value = Path(path).read_text().strip()
    return default if value in (None, "") else value


def env_int(name: str, default: int) -> int:
    raw = env_text(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{ENV_PREFIX}{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = env_text(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_data_keys(raw: str) -> dict[str, bytes]:
    """``kid:base64key[,kid:base64key…]`` → ordered dict; the first key encrypts."""
    keys: dict[str, bytes] = {}
    for part in raw.split(","):
        kid, sep, b64 = part.strip().partition(":")
        if not sep or not kid.isalnum():
            raise SettingsError(f"{ENV_PREFIX}DATA_KEYS entries are kid:base64key, got {part!r}")
        try:
            key = base64.b64decode(b64 + "=" * (-len(b64) % 4), altchars=b"-_", validate=True)
        except ValueError as exc:
            raise SettingsError(f"{ENV_PREFIX}DATA_KEYS key {kid!r} is not valid base64") from exc
        if len(key) != 32:
            raise SettingsError(f"{ENV_PREFIX}DATA_KEYS key {kid!r} must be 32 bytes")
        keys[kid] = key
    if not keys:
        raise SettingsError(f"{ENV_PREFIX}DATA_KEYS is empty")
    return keys


def parse_service_sla(raw: str) -> dict[str, tuple[int, int]]:
    """``kind=accept/resolve[,…]`` hours → {kind: (accept, resolve)}; overrides the built-in
    defaults of ``cardsvc.servicereq.sla`` for those kinds."""
    out: dict[str, tuple[int, int]] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        kind, _, hours = part.partition("=")
        accept, _, resolve = hours.partition("/")
        try:
            a, r = int(accept), int(resolve)
        except ValueError:
            raise SettingsError(
                f"{ENV_PREFIX}SERVICE_SLA entries are kind=accept/resolve hours, got {part!r}"
            ) from None
        if not kind.strip() or not 0 < a <= r:
            raise SettingsError(
                f"{ENV_PREFIX}SERVICE_SLA {part!r}: hours must be > 0 and accept ≤ resolve"
            )
        out[kind.strip()] = (a, r)
    return out


def parse_trusted_proxies(raw: str) -> tuple[str, ...]:
    """``UNIONCARD_TRUSTED_PROXIES``: comma-separated IP addresses or CIDR networks, each
    checked (a typo would otherwise trust nothing, or the wrong hosts, silently)."""
    proxies: list[str] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise SettingsError(
                f"{ENV_PREFIX}TRUSTED_PROXIES: {item!r} is not an IP address or CIDR network"
            ) from None
    return tuple(proxies)


def env_seconds(name: str, default: float) -> float:
    raw = env_text(name)
    try:
        value = default if raw is None else float(raw)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be a number of seconds") from None
    if not 0 <= value < 1e6:
        raise SettingsError(f"{ENV_PREFIX}{name} must be between 0 and 1000000 seconds")
    return value

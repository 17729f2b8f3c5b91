"""Outbound message channels. The embedded default writes to the server log; a real SMS or
WeChat gateway is another class with the same ``send`` method, chosen by settings."""

from __future__ import annotations

import logging
from typing import Protocol

from cardsvc.kernel.masking import mask_phone

logger = logging.getLogger("unioncard.sender")


class Sender(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class LogSender:
    """Writes the message to the server log (demo and development; never in production)."""

    async def send(self, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


class RecordingSender:
    """Keeps messages in memory; tests read them instead of calling a provider."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))


def make_sender(name: str) -> Sender:
    if name == "log":
        return LogSender()
    if name == "memory":
        return RecordingSender()
    raise ValueError(f"unknown sender {name!r}")

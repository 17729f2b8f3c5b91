"""Card HTTP API shapes: request and response structs, their builders and response headers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response

from cardsvc.cards import minting
from cardsvc.cards.models import Card, CardEvent, CardEventKind, CardStatus
from cardsvc.cards.published import Published

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["手机丢失"])]


class MyCardOut(msgspec.Struct):
    number: str
    number_masked: str
    status: CardStatus
    generation: int
    issued_at: datetime
    status_reason: str | None
    member_no: str
    member_name: str
    union_name: str


class TokenOut(msgspec.Struct):
    text: str
    kind: str
    not_before: datetime
    expires_at: datetime
    refresh_at: datetime | None


class TokenBatchOut(msgspec.Struct):
    tokens: list[TokenOut]
    refresh_seconds: int
    validity_seconds: int
    # The last token's expiry: the phone can show a valid code offline until then.
    valid_until: datetime


class CardEventOut(msgspec.Struct):
    card_id: uuid.UUID
    kind: CardEventKind
    generation: int
    reason: str | None
    actor: str
    at: datetime


class IssueIn(msgspec.Struct):
    reason: Reason | None = None


class StaticTokenOut(msgspec.Struct):
    card_id: uuid.UUID
    card_number: str
    text: str
    kind: str
    not_before: datetime
    expires_at: datetime


def event_out(e: CardEvent) -> CardEventOut:
    return CardEventOut(e.card_id, e.kind, e.generation, e.reason, e.actor_name, e.at)


def token_out(t: minting.MintedToken) -> TokenOut:
    return TokenOut(t.text, t.kind.name, t.not_before, t.expires_at, t.refresh_at)


class JwkOut(msgspec.Struct):
    kty: str
    crv: str
    kid: str
    x: str
    alg: str
    use: str
    status: str | None = None


class JwksOut(msgspec.Struct):
    keys: list[JwkOut]


NO_STORE = {"Cache-Control": "no-store"}  # tokens are credentials: never in a shared cache


def token_headers(t: minting.MintedToken) -> dict[str, str]:
    headers = {**NO_STORE, "X-Token-Expires-At": t.expires_at.isoformat()}
    if t.refresh_at is not None:
        headers["X-Token-Refresh-At"] = t.refresh_at.isoformat()
    return headers


def _matches(request: Request[Any, Any, Any], etag: str) -> bool:
    """If-None-Match (RFC 9110 §13.1.2, weak comparison): ``*`` or any listed tag."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


def published_response(
    request: Request[Any, Any, Any], doc: Published, media_type: str, max_age: int
) -> Response[bytes]:
    headers = {"ETag": doc.etag, "Cache-Control": f"public, max-age={max_age}"}
    if doc.issued_at is not None:
        headers["Last-Modified"] = format_datetime(
            datetime.fromtimestamp(doc.issued_at, UTC), usegmt=True
        )
    if _matches(request, doc.etag):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(doc.body, media_type=media_type, headers=headers)


# Structs of these names exist in other packages too: the published document names them
# ``CardOut`` and ``CardReasonIn`` (cardsvc/kernel/openapi.py).


class CardOut(msgspec.Struct):
    id: uuid.UUID
    member_id: uuid.UUID
    number: str
    generation: int
    status: CardStatus
    issued_at: datetime
    status_reason: str | None
    status_changed_at: datetime | None
    previous_id: uuid.UUID | None


class MemberCardsOut(msgspec.Struct):
    member_id: uuid.UUID
    current: CardOut | None
    cards: list[CardOut]
    history: list[CardEventOut]


class ReasonIn(msgspec.Struct):
    reason: Reason


def card_out(card: Card) -> CardOut:
    return CardOut(
        id=card.id,
        member_id=card.member_id,
        number=card.number,
        generation=card.generation,
        status=card.status,
        issued_at=card.issued_at,
        status_reason=card.status_reason,
        status_changed_at=card.status_changed_at,
        previous_id=card.previous_id,
    )

"""Card-signing keys: create, rotate, retire, and the per-process :class:`KeyRing` cache.

The private key is stored encrypted with the data key (PiiCipher, field ``signing_key``).
Exactly one key is active (a partial unique index enforces it); rotation makes a new active
key and turns the old one into *retiring*, which still verifies the tokens already shown on
phones and printed cards until an operator retires it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.cards import token as tokens
from cardsvc.cards.errors import CardError
from cardsvc.cards.jwks import MAX_KID, b64url_decode, b64url_encode, build_jwks, raw_public_key
from cardsvc.cards.models import KeyStatus, SigningKey
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.pii import PiiCipher

PRIVATE_KEY_FIELD = "signing_key"


@dataclass(frozen=True, slots=True)
class Signer:
    """The active key, decrypted: signs tokens and status lists."""

    kid: int
    private_key: Ed25519PrivateKey

    def sign_token(self, claims: tokens.Claims) -> str:
        return tokens.encode(claims, self.private_key)


def _public_key(row: SigningKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(b64url_decode(row.public_key))


def decrypt_signer(row: SigningKey, cipher: PiiCipher) -> Signer:
    raw = b64url_decode(cipher.decrypt(PRIVATE_KEY_FIELD, row.private_key_enc))
    return Signer(row.kid, Ed25519PrivateKey.from_private_bytes(raw))


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    return list((await session.scalars(select(SigningKey).order_by(SigningKey.kid))).all())


async def _new_key(session: AsyncSession, cipher: PiiCipher, now: datetime) -> SigningKey:
    # Max + 1 over every row ever made (retired rows are kept), so a kid is never reused.
    last = (await session.execute(select(func.max(SigningKey.kid)))).scalar_one()
    kid = (last or 0) + 1
    if kid > MAX_KID:
        raise CardError("no_signing_key", "Key ids exhausted (u16)")
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    enc = cipher.encrypt(PRIVATE_KEY_FIELD, b64url_encode(raw_private))
    row = SigningKey(
        kid=kid,
        status=KeyStatus.active,
        public_key=b64url_encode(raw_public_key(private.public_key())),
        private_key_enc=enc,
        data_key_id=PiiCipher.key_id(enc),
        activated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def ensure_signing_key(
    session: AsyncSession, cipher: PiiCipher, *, now: datetime | None = None
) -> SigningKey:
    """Return the active key, creating the first one if there is none (embedded demo, boot).

    Safe when several workers boot at once: the loser of the unique-index race reads the
    winner's key.
    """
    active = await session.scalar(select(SigningKey).where(SigningKey.status == KeyStatus.active))
    if active is not None:
        return active
    try:
        async with session.begin_nested():
            return await _new_key(session, cipher, (now or utc_now()))
    except IntegrityError:
        active = await session.scalar(
            select(SigningKey).where(SigningKey.status == KeyStatus.active)
        )
        if active is None:
            raise
        return active


async def rotate_key(
    session: AsyncSession, cipher: PiiCipher, *, now: datetime | None = None
) -> SigningKey:
    """New active key; the previous active key becomes retiring (still verifies)."""
    now = now or utc_now()
    await session.execute(
        update(SigningKey)
        .where(SigningKey.status == KeyStatus.active)
        .values(status=KeyStatus.retiring, retiring_since=now, updated_at=now)
        .execution_options(synchronize_session="fetch")
    )
    return await _new_key(session, cipher, now)


async def retire_key(session: AsyncSession, kid: int, *, now: datetime | None = None) -> SigningKey:
    """Stop verifying with ``kid``. Only a retiring key can be retired (rotate first)."""
    row = await session.scalar(select(SigningKey).where(SigningKey.kid == kid))
    if row is None:
        raise CardError("key_not_found")
    if row.status == KeyStatus.active:
        raise CardError("key_active")
    if row.status == KeyStatus.retired:
        raise CardError("key_retired")
    now = now or utc_now()
    row.status = KeyStatus.retired
    row.retired_at = now
    await session.flush()
    return row


async def load_signer(session: AsyncSession, cipher: PiiCipher) -> Signer:
    row = await session.scalar(select(SigningKey).where(SigningKey.status == KeyStatus.active))
    if row is None:
        raise CardError("no_signing_key")
    return decrypt_signer(row, cipher)


async def verifying_keys(session: AsyncSession) -> dict[int, Ed25519PublicKey]:
    rows = await session.scalars(select(SigningKey).where(SigningKey.status != KeyStatus.retired))
    return {row.kid: _public_key(row) for row in rows}


async def jwks(session: AsyncSession) -> dict[str, list[dict[str, str]]]:
    """The JWKS to publish at /.well-known/jwks.json: active and retiring keys."""
    rows = await session.scalars(select(SigningKey).where(SigningKey.status != KeyStatus.retired))
    return build_jwks((row.kid, b64url_decode(row.public_key), str(row.status)) for row in rows)


class KeyRing:
    """Per-process cache of the verifying keys and the decrypted signer.

    Refreshed every ``ttl_seconds`` (so a rotation or retirement made by another worker or
    the CLI takes effect within that time) and on an unknown kid, at most once per
    ``miss_interval`` so that forged kids cannot turn every request into a query.
    """

    def __init__(
        self,
        cipher: PiiCipher,
        *,
        ttl_seconds: float = 60.0,
        miss_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cipher = cipher
        self._ttl = ttl_seconds
        self._miss_interval = miss_interval
        self._clock = clock
        self._keys: dict[int, Ed25519PublicKey] = {}
        self._signer: Signer | None = None
        self._loaded_at = float("-inf")

    def invalidate(self) -> None:
        self._loaded_at = float("-inf")

    async def refresh(self, session: AsyncSession) -> None:
        rows = list(
            await session.scalars(select(SigningKey).where(SigningKey.status != KeyStatus.retired))
        )
        self._keys = {row.kid: _public_key(row) for row in rows}
        active = next((r for r in rows if r.status == KeyStatus.active), None)
        if active is None:
            self._signer = None
        elif self._signer is None or self._signer.kid != active.kid:
            self._signer = decrypt_signer(active, self._cipher)
        self._loaded_at = self._clock()

    async def verifying_keys(self, session: AsyncSession) -> Mapping[int, Ed25519PublicKey]:
        if self._clock() - self._loaded_at >= self._ttl:
            await self.refresh(session)
        return self._keys

    async def refresh_after_miss(self, session: AsyncSession, kid: int | None = None) -> bool:
        """Reload after an unknown kid unless done very recently; True if ``kid`` is now known
        (or, with no kid given, if a reload happened)."""
        if self._clock() - self._loaded_at < self._miss_interval:
            return False
        await self.refresh(session)
        return kid in self._keys if kid is not None else True

    async def signer(self, session: AsyncSession) -> Signer:
        if self._clock() - self._loaded_at >= self._ttl:
            await self.refresh(session)
        if self._signer is None:
            raise CardError("no_signing_key")
        return self._signer

"""Card token throughput, measured against the raw signature rate in the same run.

Run: ``.venv/bin/python bench/cards.py`` (about 30 s). Prints a table, then one line of
``key=value`` figures; ``ratio`` = our offline ``verify()`` / raw Ed25519 verify (goal ≥ 0.70).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cardsvc.cards import render
from cardsvc.cards.jwks import build_jwks, parse_jwks
from cardsvc.cards.statuslist import build_bitmap, parse_status_list, sign_status_list
from cardsvc.cards.token import SIGNING_CONTEXT, Claims, Kind, encode, parse
from cardsvc.cards.verify import verify

ROUNDS = 12
SECONDS = 0.5  # per round and figure


def rate(fn: Callable[[], object], seconds: float = SECONDS) -> float:
    """Calls per second: batches of calls until ``seconds`` have passed."""
    n, batch = 0, 64
    start = time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        n += batch
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def ms_per(fn: Callable[[], object], seconds: float = SECONDS) -> float:
    return 1000.0 / rate(fn, seconds)


def main() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    now = int(time.time())
    claims = Claims(1, Kind.rotating, 123_456, os.urandom(8), 1, now, now + 60)
    text = encode(claims, key)
    _, payload, signature = parse(text)
    message = SIGNING_CONTEXT + payload

    keyset = parse_jwks(build_jwks([(1, public)]))
    # A realistic list: one million cards, 0.1 % of them revoked.
    bitmap = build_bitmap(range(0, 1_000_000, 1000), 1_000_000)
    revocations = parse_status_list(
        sign_status_list(bitmap, kid=1, private_key=key, issued_at=now), keyset
    )
    assert verify(text, keyset, revocations, now).card_index == 123_456

    def raw_verify() -> None:
        public.verify(signature, message)

    def our_verify() -> None:
        verify(text, keyset, revocations, now)

    def sign_token() -> None:
        encode(Claims(1, Kind.rotating, 123_456, os.urandom(8), 1, now, now + 60), key)

    static = encode(Claims(1, Kind.static, 7, os.urandom(8), 1, now, now + 86400 * 1000), key)

    def qr_png() -> None:
        render.qr_png(text, ecc="M")

    def card_png() -> None:
        render.card_png(
            union_name="北京市朝阳区建筑业工会联合会",
            member_name="张三明",
            card_number="9000000000000017",
            token_text=static,
        )

    card_png()  # warm the font cache
    raws, ours, signs = [], [], []
    for _ in range(ROUNDS):  # interleaved, so that drift hits both sides alike
        raws.append(rate(raw_verify))
        ours.append(rate(our_verify))
        signs.append(rate(sign_token))
    # Best round = capacity when nothing else competes for the CPU; the ratio is the median of
    # back-to-back pairs, so that load from other processes cancels out.
    raw_ps, our_ps, sign_ps = (max(x) for x in (raws, ours, signs))
    ratio = statistics.median(o / r for o, r in zip(ours, raws, strict=True))
    qr_ms = statistics.median(ms_per(qr_png) for _ in range(3))
    card_ms = statistics.median(ms_per(card_png) for _ in range(3))

    print(f"{'figure':<42}{'value':>12}")
    print(f"{'raw Ed25519 verify (cryptography) /s':<42}{raw_ps:>12,.0f}")
    print(f"{'cardsvc.cards.verify() /s':<42}{our_ps:>12,.0f}")
    print(f"{'  ratio (goal >= 0.70)':<42}{ratio:>12.2f}")
    print(f"{'tokens signed /s':<42}{sign_ps:>12,.0f}")
    print(f"{'QR PNG (ECC M, v6), ms':<42}{qr_ms:>12.2f}")
    print(f"{'card image PNG (ECC Q QR + CJK text), ms':<42}{card_ms:>12.2f}")
    print(f"{'token length, characters':<42}{len(text):>12}")
    print(
        f"{'QR version at ECC M / Q':<42}"
        f"{render.qr_version(text, ecc='M'):>10}/{render.qr_version(text, ecc='Q')}"
    )
    print(
        f"raw_verify_per_s={raw_ps:.0f} verify_per_s={our_ps:.0f} sign_per_s={sign_ps:.0f} "
        f"qr_png_ms={qr_ms:.2f} card_png_ms={card_ms:.2f} token_chars={len(text)} "
        f"ratio={ratio:.2f}"
    )


if __name__ == "__main__":
    main()

"""The card service: signing keys, the QR token, cards, rendering, revocation and JWKS.

Pure parts (no I/O): :mod:`.token` (codec), :mod:`.statuslist`, :mod:`.jwks`, :mod:`.verify`.
``cardsvc.cards.verify(text, keyset, revocations, now)`` is the offline verifier. Database
parts: :mod:`.models`, :mod:`.keys`, :mod:`.service`; images: :mod:`.render`.
"""

from cardsvc.cards.verify import verify

__all__ = ["verify"]

"""The personal data that benefits and merchants hold, as privacy parts: the ledger in the
access export (kept on erasure: it holds amounts under the member's id, nothing else), the
merchants' scan log (exported, erased, purged) and their encrypted bank accounts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from benefits.public import list_redemptions
from cardsvc.privacy.parts import EncryptedTable, PrivacyParts
from merchants.models import Merchant
from merchants.onboarding.service import BANK_FIELD
from merchants.privacy import erase_member_scans, member_scans, purge_scan_batch


async def member_redemptions(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    """A member's ledger rows (with their reversal time) for the access export."""
    out: list[dict[str, Any]] = []
    while True:
        page = await list_redemptions(session, member_id=member_id, limit=1000, offset=len(out))
        out += [
            {
                "id": r.id,
                "at": r.occurred_at,
                "program": r.program_code,
                "merchant_id": r.merchant_id,
                "store_id": r.store_id,
                "amount_fen": r.amount_fen,
                "discount_fen": r.discount_fen,
                "payable_fen": r.payable_fen,
                "units": r.units,
                "subsidy_fen": r.subsidy_fen,
                "reversed_at": r.reversed_at,
            }
            for r in page
        ]
        if len(page) < 1000:
            return out


def benefits_and_merchants_parts() -> PrivacyParts:
    return PrivacyParts(
        export_sections={"redemptions": member_redemptions, "scans": member_scans},
        erase_hooks={"scans_deleted": erase_member_scans},
        purges={"scan_log": purge_scan_batch},
        encrypted=(
            EncryptedTable(
                Merchant.__table__,  # type: ignore[arg-type]
                {"bank_account_enc": BANK_FIELD},
                "data_key_id",
            ),
        ),
    )

"""Integer money (fen) arithmetic with one rounding rule: half-up to the fen.

Every amount is a non-negative ``int``; no float ever touches money.
"""

from __future__ import annotations

BASIS_POINTS = 10_000  # 100 %


def div_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half-up, for ``numerator >= 0`` and ``denominator > 0``."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("div_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def percent_of(amount_fen: int, basis_points: int) -> int:
    """``basis_points`` / 10000 of ``amount_fen``, half-up to the fen (1000 bp of 1005 → 101)."""
    return div_half_up(amount_fen * basis_points, BASIS_POINTS)


def prorate(amount_fen: int, part: int, whole: int) -> int:
    """The share of ``amount_fen`` that ``part`` of ``whole`` units carry, half-up."""
    if part >= whole:
        return amount_fen
    return div_half_up(amount_fen * part, whole)


def format_yuan(fen: int) -> str:
    """``1234`` → ``"¥12.34"`` (for messages; APIs always carry fen)."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"

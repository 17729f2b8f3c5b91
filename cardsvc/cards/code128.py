"""Code 128 (set C) as SVG, for the numeric one-time code under the member's QR.

Set C packs two digits per symbol, so the 18 digits are 9 symbols: start C, the pairs, the
modulo-103 check symbol and stop — 154 modules with the quiet zones. Pure and tiny: no
dependency for one barcode of digits only.
"""

from __future__ import annotations

# Bar/space widths (in modules) of symbol values 0–106, from ISO/IEC 15417.
_PATTERNS = [
    "212222",
    "222122",
    "222221",
    "121223",
    "121322",
    "131222",
    "122213",
    "122312",
    "132212",
    "221213",
    "221312",
    "231212",
    "112232",
    "122132",
    "122231",
    "113222",
    "123122",
    "123221",
    "223211",
    "221132",
    "221231",
    "213212",
    "223112",
    "312131",
    "311222",
    "321122",
    "321221",
    "312212",
    "322112",
    "322211",
    "212123",
    "212321",
    "232121",
    "111323",
    "131123",
    "131321",
    "112313",
    "132113",
    "132311",
    "211313",
    "231113",
    "231311",
    "112133",
    "112331",
    "132131",
    "113123",
    "113321",
    "133121",
    "313121",
    "211331",
    "231131",
    "213113",
    "213311",
    "213131",
    "311123",
    "311321",
    "331121",
    "312113",
    "312311",
    "332111",
    "314111",
    "221411",
    "431111",
    "111224",
    "111422",
    "121124",
    "121421",
    "141122",
    "141221",
    "112214",
    "112412",
    "122114",
    "122411",
    "142112",
    "142211",
    "241211",
    "221114",
    "413111",
    "241112",
    "134111",
    "111242",
    "121142",
    "121241",
    "114212",
    "124112",
    "124211",
    "411212",
    "421112",
    "421211",
    "212141",
    "214121",
    "412121",
    "111143",
    "111341",
    "131141",
    "114113",
    "114311",
    "411113",
    "411311",
    "113141",
    "114131",
    "311141",
    "411131",
    "211412",
    "211214",
    "211232",
    "2331112",
]
START_C = 105
STOP = 106
QUIET = 10  # modules of white either side, as scanners need


def symbols(digits: str) -> list[int]:
    """Start C, the digit pairs, the check symbol, stop. ``digits``: an even number of digits."""
    if not digits.isdigit() or len(digits) % 2:
        raise ValueError("set C encodes an even number of digits")
    values = [int(digits[i : i + 2]) for i in range(0, len(digits), 2)]
    check = (START_C + sum(v * (i + 1) for i, v in enumerate(values))) % 103
    return [START_C, *values, check, STOP]


def widths(digits: str) -> list[int]:
    """Alternating bar and space widths, starting with a bar."""
    return [int(w) for s in symbols(digits) for w in _PATTERNS[s]]


def svg(digits: str, *, height: int = 40) -> str:
    """The barcode as an SVG of black bars on white, one user unit per module."""
    x = QUIET
    bars = []
    for i, w in enumerate(widths(digits)):
        if i % 2 == 0:
            bars.append(f"M{x} 0h{w}v{height}h-{w}z")
        x += w
    total = x + QUIET
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total} {height}" '
        f'width="{total * 2}" height="{height * 2}" shape-rendering="crispEdges">'
        f'<rect width="{total}" height="{height}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(bars)}"/></svg>'
    )

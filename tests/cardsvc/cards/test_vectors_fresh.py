"""The checked-in vectors are what the codec produces today, and the codec agrees with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cardsvc.cards.errors import AppError
from cardsvc.cards.verify import verify
from tests.vectors import generate

VECTOR_DIR = Path(generate.__file__).resolve().parent


def test_generator_output_matches_the_checked_in_files() -> None:
    built = generate.build()
    on_disk = {p.stem: json.loads(p.read_text()) for p in VECTOR_DIR.glob("*.json")}
    assert built == on_disk, "run: .venv/bin/python tests/vectors/generate.py"


@pytest.mark.parametrize("name", sorted(generate.build()))
def test_codec_agrees_with_vector(name: str) -> None:
    vec = json.loads((VECTOR_DIR / f"{name}.json").read_text())
    try:
        claims = verify(
            vec["token"],
            vec["jwks"],
            vec["status_list"],
            vec["now"],
            skew_seconds=vec["skew_seconds"],
        )
    except AppError as exc:
        assert exc.code == vec["expected"].get("error")
    else:
        assert vec["expected"]["valid"]
        assert claims.token_id == vec["expected"]["claims"]["token_id"]
        assert claims.card_index == vec["expected"]["claims"]["card_index"]

"""The verifiable draw: the published seed and applicant list reproduce the winners exactly,
nobody wins twice, and over many draws every applicant wins equally often (chi-square)."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benefits.rules.draw import commitment, draw

seeds = st.binary(min_size=32, max_size=32).map(bytes.hex)
ids = st.lists(st.text(min_size=1, max_size=12), max_size=60)


@given(seed=seeds, applicants=ids, k=st.integers(0, 70))
@settings(max_examples=200, deadline=None)
def test_recomputed_from_the_published_list(seed: str, applicants: list[str], k: int) -> None:
    winners = draw(seed, applicants, k)
    # Anyone with the seed and the list (in any order, duplicates or not) gets the same.
    assert draw(seed, list(reversed(applicants)) + applicants, k) == winners
    assert len(winners) == len(set(winners)) == min(k, len(set(applicants)))
    assert set(winners) <= set(applicants)
    # A larger draw extends a smaller one (the waiting list continues the winners).
    assert draw(seed, applicants, k + 3)[: len(winners)] == winners


def test_commitment_is_sha256_of_the_seed_bytes() -> None:
    seed = "00" * 31 + "01"
    assert commitment(seed) == hashlib.sha256(bytes(31) + b"\x01").hexdigest()
    with pytest.raises(ValueError):
        commitment("abc")


def test_a_known_vector() -> None:
    # Fixed so that an independent implementation of the documented algorithm can check itself.
    seed = bytes(range(32)).hex()
    assert draw(seed, ["m1", "m2", "m3", "m4", "m5"], 2) == draw(
        seed, ["m5", "m4", "m3", "m2", "m1"], 2
    )
    import hmac

    keys = {
        i: int.from_bytes(hmac.new(bytes(range(32)), i.encode(), hashlib.sha256).digest(), "big")
        for i in ["m1", "m2", "m3", "m4", "m5"]
    }
    assert draw(seed, keys, 2) == sorted(keys, key=lambda i: keys[i])[:2]


def test_uniform_over_many_draws() -> None:
    applicants = [f"p{i:02d}" for i in range(20)]
    k, rounds = 5, 4000
    # Seeds fixed (so the test cannot flake) but unrelated: SHA-256 of the round number.
    seeds = (hashlib.sha256(str(r).encode()).hexdigest() for r in range(rounds))
    wins = Counter(w for seed in seeds for w in draw(seed, applicants, k))
    expected = rounds * k / len(applicants)
    chi2 = sum((wins[a] - expected) ** 2 / expected for a in applicants)
    # 19 degrees of freedom: P(chi2 > 43.8) = 0.001.
    assert chi2 < 43.8, (chi2, wins)


def test_a_fixed_known_answer() -> None:
    """Literal figures (not recomputed by the code under test), so that a change of the
    published algorithm cannot go unnoticed and another implementation can check itself."""
    seed = bytes(range(32)).hex()
    assert commitment(seed) == "630dcd2966c4336691125448bbb25b4ff412a49c732db2c8abc1b8581bd710dd"
    applicants = [f"m{i}" for i in range(1, 9)]
    assert draw(seed, applicants, 3) == ["m6", "m1", "m5"]


def test_every_set_of_winners_equally_likely() -> None:
    """Uniform over the winning *sets*, not only per applicant: 5 applicants, 2 winners, the
    10 possible pairs counted over many draws (chi-square, 9 degrees of freedom)."""
    applicants = ["a", "b", "c", "d", "e"]
    rounds = 5000
    seeds = (hashlib.sha256(b"set%d" % r).hexdigest() for r in range(rounds))
    pairs = Counter(tuple(sorted(draw(seed, applicants, 2))) for seed in seeds)
    assert len(pairs) == 10
    expected = rounds / 10
    chi2 = sum((n - expected) ** 2 / expected for n in pairs.values())
    # P(chi2 > 27.88) = 0.001 at 9 degrees of freedom.
    assert chi2 < 27.88, (chi2, pairs)

"""Money is integer fen, rounded half-up to the fen, and a payable amount is never negative."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from benefits.errors import Reason
from benefits.rules.benefit import Outcome, compute, with_fewer_units, with_value_cap
from benefits.rules.money import div_half_up, format_yuan, percent_of, prorate
from benefits.rules.programme import Benefit, BenefitKind, Funding

fen = st.integers(min_value=0, max_value=10**11)
units = st.integers(min_value=1, max_value=50)


def half_up(x: Fraction) -> int:
    return int(x + Fraction(1, 2)) if x >= 0 else -int(-x + Fraction(1, 2))


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=1, max_value=10**6))
def test_div_half_up_matches_exact_arithmetic(n: int, d: int) -> None:
    assert div_half_up(n, d) == half_up(Fraction(n, d))


@given(fen, st.integers(min_value=1, max_value=10_000))
def test_percent_of_is_half_up(amount: int, bp: int) -> None:
    assert percent_of(amount, bp) == half_up(Fraction(amount * bp, 10_000))


def test_percent_rounding_examples() -> None:
    assert percent_of(1005, 1000) == 101  # 100.5 → 101
    assert percent_of(1004, 1000) == 100  # 100.4 → 100
    assert percent_of(5000, 1) == 1  # 0.5 → 1
    assert percent_of(4999, 1) == 0  # 0.4999 → 0
    assert percent_of(12345, 10_000) == 12345
    assert format_yuan(12345) == "¥123.45" and format_yuan(5) == "¥0.05"


benefits = st.one_of(
    st.builds(
        Benefit,
        kind=st.just(BenefitKind.percent_off),
        basis_points=st.integers(1, 10_000),
        cap_fen=st.none() | st.integers(1, 10**6),
        funded_by=st.sampled_from(Funding),
    ),
    st.builds(
        Benefit,
        kind=st.just(BenefitKind.amount_off),
        off_fen=st.integers(1, 10**7),
        min_spend_fen=st.none() | st.integers(0, 10**7),
        funded_by=st.sampled_from(Funding),
    ),
    st.builds(
        Benefit,
        kind=st.just(BenefitKind.fixed_price),
        price_fen=st.integers(0, 10**6),
        funded_by=st.sampled_from(Funding),
    ),
    st.builds(
        Benefit,
        kind=st.just(BenefitKind.free_units),
        per_unit_fen=st.none() | st.integers(0, 10**5),
    ),
    st.builds(Benefit, kind=st.just(BenefitKind.subsidy), per_unit_fen=st.integers(1, 10**5)),
)


@given(benefits, fen, units)
def test_benefit_never_exceeds_the_amount(benefit: Benefit, amount: int, n: int) -> None:
    out = compute(benefit, amount, n)
    if isinstance(out, Reason):
        assert out.code == "below_min_spend"
        assert benefit.min_spend_fen is not None and amount < benefit.min_spend_fen
        return
    assert 0 <= out.discount_fen <= amount  # payable = amount - discount >= 0
    assert out.subsidy_fen >= 0
    assert out.value_fen == max(out.discount_fen, out.subsidy_fen)
    if benefit.kind is BenefitKind.percent_off:
        assert benefit.basis_points is not None
        expected = half_up(Fraction(amount * benefit.basis_points, 10_000))
        if benefit.cap_fen is not None:
            expected = min(expected, benefit.cap_fen)
        assert out.discount_fen == expected
    if benefit.kind is BenefitKind.subsidy:
        assert out.subsidy_fen == out.discount_fen == min(amount, (benefit.per_unit_fen or 0) * n)
    if benefit.kind in (BenefitKind.percent_off, BenefitKind.amount_off, BenefitKind.fixed_price):
        funded = benefit.funded_by is Funding.federation
        assert out.subsidy_fen == (out.discount_fen if funded else 0)


@given(benefits, fen, units, st.data())
def test_clamping_never_increases_the_benefit(benefit: Benefit, amount: int, n: int, data) -> None:
    out = compute(benefit, amount, n)
    if isinstance(out, Reason):
        return
    fewer = data.draw(st.integers(1, n))
    smaller = with_fewer_units(benefit, out, fewer)
    assert smaller.units == fewer
    assert smaller.base_fen == prorate(amount, fewer, n) <= amount
    assert 0 <= smaller.discount_fen <= smaller.base_fen
    cap = data.draw(st.integers(0, out.value_fen))
    capped = with_value_cap(out, cap)
    assert capped.value_fen == cap
    assert capped.discount_fen <= out.discount_fen and capped.subsidy_fen <= out.subsidy_fen


def test_examples_of_each_kind() -> None:
    def d(b: Benefit, amount: int, n: int = 1) -> Outcome:
        out = compute(b, amount, n)
        assert isinstance(out, Outcome)
        return out

    ten_pct = Benefit(BenefitKind.percent_off, basis_points=1000, cap_fen=3000)
    assert d(ten_pct, 25_000).discount_fen == 2500
    assert d(ten_pct, 99_999).discount_fen == 3000  # capped at ¥30
    off = Benefit(BenefitKind.amount_off, off_fen=2000, min_spend_fen=10_000)
    assert isinstance(compute(off, 9_999, 1), Reason)
    assert d(off, 10_000).discount_fen == 2000
    assert d(Benefit(BenefitKind.amount_off, off_fen=2000), 1500).discount_fen == 1500
    fixed = Benefit(BenefitKind.fixed_price, price_fen=990)
    assert d(fixed, 4500, 2).discount_fen == 4500 - 1980
    assert d(fixed, 500, 1).discount_fen == 0
    ticket = Benefit(BenefitKind.subsidy, per_unit_fen=2000)
    out = d(ticket, 4500, 1)
    assert (out.discount_fen, out.subsidy_fen) == (2000, 2000)
    check = Benefit(BenefitKind.free_units, per_unit_fen=30_000)
    out = d(check, 0, 1)
    assert (out.discount_fen, out.subsidy_fen, out.value_fen) == (0, 30_000, 30_000)
    assert prorate(9001, 1, 2) == 4501  # 4500.5 → 4501

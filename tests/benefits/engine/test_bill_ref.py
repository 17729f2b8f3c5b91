"""The bill reference's form (pure): what a POS order number may look like."""

from __future__ import annotations

import pytest

from benefits.engine.bills import MAX_BILL_REF, bill_ref_problem, check_bill_ref
from benefits.errors import ValidationError


@pytest.mark.parametrize("ok", ["1", "POS-20260315-0042", "a.b_c/d:e#f", "Z" * MAX_BILL_REF])
def test_order_numbers_are_bill_refs(ok: str) -> None:
    assert bill_ref_problem(ok) is None
    assert check_bill_ref(ok) == ok


@pytest.mark.parametrize(
    "bad", ["", "Z" * (MAX_BILL_REF + 1), "-1", " 1", "1 2", "单号1", "=1+1", "1;2", "1\n"]
)
def test_anything_else_is_refused_naming_the_field(bad: str) -> None:
    zh, en = bill_ref_problem(bad) or ("", "")
    assert zh and en
    with pytest.raises(ValidationError) as caught:
        check_bill_ref(bad)
    assert [e.field for e in caught.value.errors] == ["bill_ref"]


def test_no_bill_ref_is_fine() -> None:
    assert check_bill_ref(None) is None

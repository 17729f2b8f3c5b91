"""Every limit counter as one table, for tests that read them: ``benefit_counter`` (shared by
members) and ``benefit_member_counter`` (a member's own), with the columns they share and
``stripes`` (1 for a member's counter, never striped)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Integer, Subquery, Table, literal, select, union_all

from benefits.models import Counter, MemberCounter

_COLUMNS = (
    "id",
    "program_id",
    "policy_key",
    "metric",
    "scope_key",
    "period_key",
    "used",
    "limit",
    "last_take",
)


def all_counters() -> Subquery:
    c, mc = cast(Table, Counter.__table__), cast(Table, MemberCounter.__table__)
    return union_all(
        select(*(c.c[n] for n in _COLUMNS), c.c.stripes),
        select(*(mc.c[n] for n in _COLUMNS), literal(1, Integer).label("stripes")),
    ).subquery("counter")

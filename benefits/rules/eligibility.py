"""Who may use a programme: a pure function from member facts to the reasons they may not.

An empty list means eligible. Every reason carries a stable code:

======================  ==========================================================
code                    when
======================  ==========================================================
member_inactive         the member's status is not ``active``
outside_org             the member is not in the subtree of the programme's owner
org_not_listed          ``org_ids`` is set and the member is in none of their subtrees
category_missing        ``categories_any`` is set and the member has none of them
category_excluded       the member has one of ``categories_none``
hardship_level          ``hardship_levels`` is set and the member's level is not in it
tenure_unknown          a minimum tenure is set and the joining date is unknown
tenure_short            fewer than ``min_tenure_days`` days since joining
birth_date_unknown      an age range is set and the birth date is unknown
too_young / too_old     outside ``min_age`` … ``max_age`` (whole years, inclusive)
region_not_listed       ``regions`` is set and the member's region matches none
======================  ==========================================================
"""

from __future__ import annotations

import uuid
from datetime import date

from benefits.errors import Reason
from benefits.rules.facts import MemberFacts
from benefits.rules.programme import Eligibility


def age_on(birth: date, day: date) -> int:
    """Whole years completed on ``day`` (a 29 February birthday counts from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def in_subtree(member_org_path: str, org_path: str) -> bool:
    return member_org_path.startswith(org_path)


def path_ids(org_path: str) -> set[uuid.UUID]:
    """The org ids along a materialised path: the org and its ancestors.

    Ids are compared as UUIDs, not text: the host writes a path's segments in whatever form
    it likes (``uuid.hex`` without dashes, or with them), and a rule's ``org_ids`` are parsed
    UUIDs; a segment that is not a UUID names no org.
    """
    out: set[uuid.UUID] = set()
    for segment in org_path.strip("/").split("/"):
        try:
            out.add(uuid.UUID(segment))
        except ValueError:
            continue
    return out


def division_prefix(code: str) -> str:
    """The code prefix a listed region stands for. A province's or city's own code ends in
    zeros (``420000`` 湖北省, ``420500`` 宜昌市, as their unions carry them) and covers every
    code under it, like ``42`` and ``4205`` do."""
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code


def region_matches(region: str | None, prefixes: tuple[str, ...]) -> bool:
    """Region codes are hierarchical (``11`` ⊃ ``1101`` ⊃ ``110105``): match by prefix."""
    return region is not None and any(region.startswith(division_prefix(p)) for p in prefixes)


def check_eligibility(
    rule: Eligibility, *, owner_org_path: str, member: MemberFacts, on: date
) -> list[Reason]:
    """Reasons ``member`` may not use a programme on local date ``on``; empty if eligible."""
    reasons: list[Reason] = []
    _check_membership(reasons, rule, owner_org_path, member)
    _check_categories(reasons, rule, member)
    if rule.min_tenure_days is not None:
        _check_tenure(reasons, rule.min_tenure_days, member, on)
    if rule.min_age is not None or rule.max_age is not None:
        _check_age(reasons, rule, member, on)
    if rule.regions and not region_matches(member.region, rule.regions):
        reasons.append(
            Reason("region_not_listed", "会员所在地区不符合", "The member's region is not listed")
        )
    return reasons


def _check_membership(
    reasons: list[Reason], rule: Eligibility, owner_org_path: str, member: MemberFacts
) -> None:
    """Active, in the owner's subtree, and in a listed org's subtree if orgs are listed."""
    if member.status != "active":
        reasons.append(
            Reason(
                "member_inactive",
                "会员状态不是有效",
                "The membership is not active",
                {"status": member.status},
            )
        )
    if not in_subtree(member.org_path, owner_org_path):
        reasons.append(
            Reason(
                "outside_org",
                "会员不属于发起该项目的工会",
                "The member is outside the programme's union",
            )
        )
    if rule.org_ids and not set(rule.org_ids).intersection(path_ids(member.org_path)):
        reasons.append(
            Reason(
                "org_not_listed", "会员所在工会不在适用范围内", "The member's union is not listed"
            )
        )


def _check_categories(reasons: list[Reason], rule: Eligibility, member: MemberFacts) -> None:
    """Member categories required or excluded, and the hardship level."""
    if rule.categories_any and not member.categories.intersection(rule.categories_any):
        reasons.append(
            Reason(
                "category_missing",
                "会员类别不符合",
                "The member is in none of the required categories",
                {"categories_any": list(rule.categories_any)},
            )
        )
    if rule.categories_none and (hit := member.categories.intersection(rule.categories_none)):
        reasons.append(
            Reason(
                "category_excluded",
                "会员类别被排除",
                "The member is in an excluded category",
                {"categories": sorted(hit)},
            )
        )
    if rule.hardship_levels and member.hardship_level not in rule.hardship_levels:
        reasons.append(
            Reason(
                "hardship_level",
                "困难职工等级不符合",
                "The hardship level does not qualify",
                {"hardship_levels": list(rule.hardship_levels)},
            )
        )


def _check_tenure(
    reasons: list[Reason], min_tenure_days: int, member: MemberFacts, on: date
) -> None:
    if member.joined_on is None:
        reasons.append(Reason("tenure_unknown", "入会日期未知", "The joining date is unknown"))
    elif (on - member.joined_on).days < min_tenure_days:
        reasons.append(
            Reason(
                "tenure_short",
                f"入会需满 {min_tenure_days} 天",
                f"Membership must be at least {min_tenure_days} days old",
                {
                    "min_tenure_days": min_tenure_days,
                    "tenure_days": (on - member.joined_on).days,
                },
            )
        )


def _check_age(reasons: list[Reason], rule: Eligibility, member: MemberFacts, on: date) -> None:
    if member.birth_date is None:
        reasons.append(Reason("birth_date_unknown", "出生日期未知", "The birth date is unknown"))
        return
    age = age_on(member.birth_date, on)
    if rule.min_age is not None and age < rule.min_age:
        reasons.append(
            Reason(
                "too_young",
                f"年龄需满 {rule.min_age} 周岁",
                f"Must be at least {rule.min_age} years old",
                {"min_age": rule.min_age},
            )
        )
    if rule.max_age is not None and age > rule.max_age:
        reasons.append(
            Reason(
                "too_old",
                f"年龄不能超过 {rule.max_age} 周岁",
                f"Must be at most {rule.max_age} years old",
                {"max_age": rule.max_age},
            )
        )

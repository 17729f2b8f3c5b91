"""Eligibility and scope are pure functions returning every reason with a stable code."""

from __future__ import annotations

import uuid
from datetime import date

from benefits.rules.eligibility import age_on, check_eligibility
from benefits.rules.programme import Eligibility, MerchantCategory, Scope
from benefits.rules.scope import check_scope
from tests.benefits.conftest import CITY, CITY_PATH, OTHER_PATH, TOWN, member, merchant

ON = date(2025, 6, 11)


def codes(rule: Eligibility, **facts: object) -> list[str]:
    return [
        r.code
        for r in check_eligibility(rule, owner_org_path=CITY_PATH, member=member(**facts), on=ON)
    ]


def test_an_ordinary_member_is_eligible_for_an_open_programme() -> None:
    assert codes(Eligibility()) == []


def test_status_and_org_subtree() -> None:
    assert codes(Eligibility(), status="suspended") == ["member_inactive"]
    assert codes(Eligibility(), org_path=OTHER_PATH) == ["outside_org"]
    assert codes(Eligibility(), org_path=CITY_PATH) == []  # the owner's own members count


def test_specific_orgs() -> None:
    assert codes(Eligibility(org_ids=(TOWN,))) == []
    assert codes(Eligibility(org_ids=(CITY,))) == []  # TOWN is inside CITY
    assert codes(Eligibility(org_ids=(uuid.uuid4(),))) == ["org_not_listed"]


def test_specific_orgs_on_paths_written_as_the_card_service_writes_them() -> None:
    """The card service's org paths are ``uuid.hex`` segments (no dashes); ids still match."""
    owner = f"{CITY.hex}/"
    path = f"{CITY.hex}/{TOWN.hex}/"

    def hex_codes(rule: Eligibility) -> list[str]:
        found = check_eligibility(rule, owner_org_path=owner, member=member(org_path=path), on=ON)
        return [r.code for r in found]

    assert hex_codes(Eligibility(org_ids=(TOWN,))) == []
    assert hex_codes(Eligibility(org_ids=(uuid.uuid4(), CITY))) == []
    assert hex_codes(Eligibility(org_ids=(uuid.uuid4(),))) == ["org_not_listed"]


def test_categories_any_and_none() -> None:
    rule = Eligibility(categories_any=("model_worker", "retired"), categories_none=("hardship",))
    assert codes(rule, categories={"retired"}) == []
    assert codes(rule, categories={"migrant_worker"}) == ["category_missing"]
    assert codes(rule, categories={"retired", "hardship"}) == ["category_excluded"]


def test_hardship_levels() -> None:
    rule = Eligibility(categories_any=("hardship",), hardship_levels=(2, 3))
    assert codes(rule, categories={"hardship"}, hardship_level=2) == []
    assert codes(rule, categories={"hardship"}, hardship_level=1) == ["hardship_level"]
    assert codes(rule, categories={"hardship"}) == ["hardship_level"]


def test_tenure() -> None:
    rule = Eligibility(min_tenure_days=90)
    assert codes(rule, joined_on=date(2025, 3, 13)) == []  # exactly 90 days
    assert codes(rule, joined_on=date(2025, 3, 14)) == ["tenure_short"]
    assert codes(rule, joined_on=None) == ["tenure_unknown"]


def test_age_range_is_inclusive_and_in_whole_years() -> None:
    rule = Eligibility(min_age=18, max_age=60)
    assert codes(rule, birth_date=date(2007, 6, 11)) == []  # 18 today
    assert codes(rule, birth_date=date(2007, 6, 12)) == ["too_young"]
    assert codes(rule, birth_date=date(1964, 6, 12)) == []  # 60 until tomorrow
    assert codes(rule, birth_date=date(1964, 6, 11)) == ["too_old"]  # 61 today
    assert codes(rule, birth_date=None) == ["birth_date_unknown"]


def test_leap_day_birthday() -> None:
    born = date(2004, 2, 29)
    assert age_on(born, date(2022, 2, 28)) == 17
    assert age_on(born, date(2022, 3, 1)) == 18
    assert age_on(born, date(2024, 2, 29)) == 20


def test_region_prefix() -> None:
    assert codes(Eligibility(regions=("11",)), region="110105") == []
    assert codes(Eligibility(regions=("31",)), region="110105") == ["region_not_listed"]
    assert codes(Eligibility(regions=("11",)), region=None) == ["region_not_listed"]


def test_a_divisions_own_code_stands_for_all_of_it() -> None:
    """``420000`` (湖北省) and ``420500`` (宜昌市) are the codes their unions carry: listed,
    they mean the whole province or city, as ``42`` and ``4205`` do."""
    for rule in ("420000", "420500", "4200"):
        assert codes(Eligibility(regions=(rule,)), region="420525") == [], rule
        assert codes(Eligibility(regions=(rule,)), region="420500") == [], rule
    assert codes(Eligibility(regions=("420500",)), region="420600") == ["region_not_listed"]
    assert codes(Eligibility(regions=("420000",)), region="110105") == ["region_not_listed"]
    assert codes(Eligibility(regions=("420525",)), region="420502") == ["region_not_listed"]
    shop = merchant(region="420502")
    assert check_scope(Scope(regions=("420500",)), shop) == []
    assert [r.code for r in check_scope(Scope(regions=("110000",)), shop)] == [
        "region_not_in_scope"
    ]


def test_every_reason_is_reported_and_bilingual() -> None:
    rule = Eligibility(categories_any=("retired",), min_age=70)
    reasons = check_eligibility(
        rule, owner_org_path=CITY_PATH, member=member(status="left", org_path=OTHER_PATH), on=ON
    )
    assert [r.code for r in reasons] == [
        "member_inactive",
        "outside_org",
        "category_missing",
        "too_young",
    ]
    assert all(r.message_zh and r.message_en for r in reasons)


def test_scope_dimensions_narrow_each_other() -> None:
    shop = merchant(category="cinema", region="110105")
    assert check_scope(Scope(), shop) == []
    assert check_scope(Scope(merchant_categories=(MerchantCategory.cinema,)), shop) == []
    both = Scope(merchant_categories=(MerchantCategory.cinema,), regions=("31",))
    assert [r.code for r in check_scope(both, shop)] == ["region_not_in_scope"]
    assert [r.code for r in check_scope(Scope(merchant_ids=(uuid.uuid4(),)), shop)] == [
        "merchant_not_listed"
    ]
    assert [r.code for r in check_scope(Scope(store_ids=(uuid.uuid4(),)), shop)] == [
        "store_not_listed"
    ]
    assert shop.store_id is not None
    listed = Scope(merchant_ids=(shop.merchant_id,), store_ids=(shop.store_id,))
    assert check_scope(listed, shop) == []
    dining = Scope(merchant_categories=(MerchantCategory.dining,))
    assert [r.code for r in check_scope(dining, shop)] == ["merchant_category_not_listed"]

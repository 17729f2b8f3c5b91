"""The GB/T 2260 table shipped with the project: full names, names to codes, validation."""

from __future__ import annotations

import pytest

from cardsvc.kernel.regions import (
    RegionInvalid,
    code_for_name,
    codes_named,
    codes_under,
    full_name,
    is_known,
    parse_optional_region,
    parse_region,
)


def test_full_names_join_province_city_and_county() -> None:
    assert full_name("420525") == "湖北省宜昌市远安县"
    assert full_name("420500") == "湖北省宜昌市"
    assert full_name("420000") == "湖北省"
    assert full_name("110105") == "北京市朝阳区"  # a municipality has no city level
    assert full_name("429004") == "湖北省仙桃市"  # a county-level city under the province
    assert full_name("429999") is None
    assert full_name(None) is None


def test_the_table_is_complete_enough_for_every_province() -> None:
    provinces = [c for c in codes_under("") if c.endswith("0000")]
    assert len(provinces) == 34
    assert len(codes_under("4205")) == 14  # 宜昌市 and its 13 districts, counties and cities
    assert is_known("650102") and not is_known("000000")


def test_names_map_to_a_code_only_when_unambiguous() -> None:
    assert code_for_name("湖北省宜昌市远安县") == "420525"
    assert code_for_name("远安县") == "420525"  # unique nationwide
    assert code_for_name("朝阳区") is None  # 北京市 and 长春市 both have one
    assert code_for_name("北京市朝阳区") == "110105"
    assert code_for_name("宜昌市") == "420500"
    assert code_for_name("西陵") is None
    assert codes_named("西陵") == ["420502"]


def test_parse_region_accepts_codes_and_unique_names() -> None:
    assert parse_region("region_code", " 420502 ") == "420502"
    assert parse_region("region_code", "湖北省宜昌市西陵区") == "420502"
    assert parse_optional_region("region_code", "  ") is None
    assert parse_optional_region("region_code", None) is None


@pytest.mark.parametrize("value", ["429999", "4205", "42050X", "朝阳区", "火星"])
def test_parse_region_refuses_unknown_or_ambiguous_input(value: str) -> None:
    with pytest.raises(RegionInvalid) as caught:
        parse_region("region_code", value)
    err = caught.value
    assert err.code == "region_code_invalid" and err.status == 422
    assert err.errors[0].field == "region_code"
    assert err.message_zh and err.message_en

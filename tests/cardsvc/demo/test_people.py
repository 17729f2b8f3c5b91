"""The deterministic demo-people generator."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

from cardsvc.demo.people import (
    DEMO_AS_OF,
    DEMO_DISTRICTS,
    DEMO_UNIONS,
    Employment,
    generate_people,
)
from cardsvc.members.identity import parse_phone, parse_resident_id, validate_name

PEOPLE = generate_people(1000, seed=7)


def test_same_seed_same_people_other_seed_other_people() -> None:
    again = generate_people(1000, seed=7)
    assert [asdict(p) for p in again] == [asdict(p) for p in PEOPLE]
    other = generate_people(50, seed=8)
    assert [p.id_number for p in other] != [p.id_number for p in PEOPLE[:50]]


def test_prefix_stable_for_smaller_n() -> None:
    assert [asdict(p) for p in generate_people(200, seed=7)] == [asdict(p) for p in PEOPLE[:200]]


def test_ids_and_phones_valid_and_unique() -> None:
    assert len({p.id_number for p in PEOPLE}) == len(PEOPLE)
    assert len({p.phone for p in PEOPLE}) == len(PEOPLE)
    for p in PEOPLE:
        rid = parse_resident_id(p.id_number, today=DEMO_AS_OF)
        assert rid.birth_date == p.birth_date
        assert rid.gender == p.gender
        assert rid.region_code == p.region_code
        assert rid.region_name == p.region  # every code is a real, known division
        assert parse_phone(p.phone) == p.phone
        assert validate_name(p.name) == p.name


def test_demo_district_codes() -> None:
    assert dict(DEMO_DISTRICTS) == {"420502": "西陵区", "420503": "伍家岗区"}
    counts = Counter(u.district_code for u in DEMO_UNIONS)
    assert counts["420502"] >= 3 and counts["420503"] >= 3
    assert len({u.key for u in DEMO_UNIONS}) == len(DEMO_UNIONS) >= 6
    keys = {u.key for u in DEMO_UNIONS}
    assert {p.union_key for p in PEOPLE} == keys  # every union gets members
    locals_ = [p for p in PEOPLE if p.region_code in ("420502", "420503")]
    assert len(locals_) > len(PEOPLE) // 4


def test_birth_dates_and_joined_dates_plausible() -> None:
    for p in PEOPLE:
        assert 1960 <= p.birth_date.year <= 2006
        age_at_join = p.joined_on.year - p.birth_date.year
        assert age_at_join >= 17, p
        assert p.joined_on <= DEMO_AS_OF


def test_names_mix() -> None:
    lengths = Counter(len(p.name) for p in PEOPLE if "·" not in p.name)
    assert lengths[2] > 100 and lengths[3] > 400  # one- and two-character given names
    compound = [p for p in PEOPLE if p.name[:2] in {"欧阳", "司马", "上官", "诸葛", "东方", "皇甫"}]
    assert compound
    minority = [p for p in PEOPLE if "·" in p.name]
    assert 1 <= len(minority) <= 40
    assert all(p.region_code.startswith("65") for p in minority)
    surnames = Counter(p.name[0] for p in PEOPLE)
    top = {s for s, _ in surnames.most_common(5)}
    assert len(top & {"王", "李", "张", "刘", "陈"}) >= 3  # weighted by frequency


def test_categories_follow_employment() -> None:
    by_kind = Counter(p.employment_type for p in PEOPLE)
    assert set(by_kind) == {
        Employment.employee,
        Employment.flexible_worker,
        Employment.platform_worker,
        Employment.migrant_worker,
        Employment.retired,
    }
    for p in PEOPLE:
        cats = set(p.categories)
        assert ("retired" in cats) == (p.employment_type == Employment.retired)
        if p.employment_type == Employment.migrant_worker:
            assert "migrant_worker" in cats
        if p.employment_type in (Employment.flexible_worker, Employment.platform_worker):
            assert "flexible_worker" in cats
        if p.employment_type == Employment.employee:
            assert cats <= {"model_worker", "hardship"}
        assert ("hardship" in cats) == (p.hardship_level is not None)
        if p.hardship_level is not None:
            assert p.hardship_level in (1, 2, 3)
        if p.employment_type == Employment.retired:
            age = DEMO_AS_OF.year - p.birth_date.year
            assert age >= (60 if p.gender == "M" else 50), p
    model_workers = sum("model_worker" in p.categories for p in PEOPLE)
    assert 1 <= model_workers <= 40  # rare
    assert 30 <= sum(p.hardship_level is not None for p in PEOPLE) <= 200


def test_jobs_match_employment() -> None:
    riders = [p for p in PEOPLE if p.job == "外卖骑手"]
    assert riders
    assert all(p.employment_type == Employment.platform_worker for p in riders)
    assert Counter(p.gender for p in riders)["M"] > len(riders) * 0.7
    platform_jobs = {p.job for p in PEOPLE if p.employment_type == Employment.platform_worker}
    assert platform_jobs <= {"外卖骑手", "网约车司机", "即时配送员", "网约货车司机", "快递员"}
    for p in PEOPLE:
        if p.employment_type == Employment.retired:
            assert p.job.startswith("退休")
    construction = [p for p in PEOPLE if p.union_key == "wjg-construction"]
    assert construction
    assert all(p.employment_type == Employment.migrant_worker for p in construction)


def test_zero_people() -> None:
    assert generate_people(0, seed=1) == []

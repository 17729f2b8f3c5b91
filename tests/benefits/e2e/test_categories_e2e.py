"""Member categories and hardship, end to end: programmes restricted by ``categories_any``,
``categories_none`` and ``hardship_levels`` (through the staff API), against members whose
categories staff set on the member record and whose hardship comes only from a hardship record
approved one level above their union (reviewed to another level, or revoked)."""

from __future__ import annotations

from tests.benefits.e2e.steps import judged
from tests.support.front import Front

COVERS = {
    "eligibility.categories_any",
    "eligibility.categories_none",
    "eligibility.hardship_levels",
}

MISSING, EXCLUDED = "not_eligible/category_missing", "not_eligible/category_excluded"
LEVEL = "not_eligible/hardship_level"


async def test_categories_set_by_staff(front: Front) -> None:
    """Any of ``categories_any``, none of ``categories_none``; a change by staff (audited)
    applies at the next scan."""
    shop = await front.shop()
    union = await front.grassroots("HB-YC-XL")
    people = [await front.member(union) for _ in range(4)]
    plain, model, retired, both = people
    for who, cats in ((model, ["model_worker"]), (retired, ["retired"])):
        await front.set_categories(who, cats)
    await front.set_categories(both, ["model_worker", "retired"])
    hb = front.orgs["HB"]
    any_model = await front.program(hb, eligibility={"categories_any": ["model_worker"]})
    cases = [
        (any_model, [MISSING, "ok", MISSING, "ok"]),
        (
            await front.program(hb, eligibility={"categories_any": ["model_worker", "retired"]}),
            [MISSING, "ok", "ok", "ok"],
        ),
        (
            await front.program(hb, eligibility={"categories_none": ["retired"]}),
            ["ok", "ok", EXCLUDED, EXCLUDED],
        ),
        (
            await front.program(
                hb,
                eligibility={"categories_any": ["model_worker"], "categories_none": ["retired"]},
            ),
            [MISSING, "ok", f"{MISSING},category_excluded", EXCLUDED],
        ),
    ]
    for prog, expected in cases:
        got = [await judged(front, shop, who, prog) for who in people]
        assert got == expected, prog["rules"]["eligibility"]
    assert any_model["id"] in await front.my_benefits(model)
    assert any_model["id"] not in await front.my_benefits(plain)

    # Staff drop ``retired`` from ``both``: the exclusion no longer applies, with an audit row.
    assert (await front.set_categories(both, ["model_worker"]))["categories"] == ["model_worker"]
    prog, _ = cases[3]
    assert await judged(front, shop, both, prog) == "ok"
    r = await front.client.get("/api/v1/audit", params={"target_id": both.id, "limit": 50})
    assert r.status_code == 200, r.text
    edits = [e["summary"] for e in r.json()["items"] if e["action"] == "member.update"]
    assert {"categories_before": ["model_worker", "retired"]}.items() <= edits[0].items()


async def test_hardship_from_approved_records(front: Front) -> None:
    """The hardship category and level come from an approved record only: a pending one
    counts for nothing, a review changes the level, a revocation ends it."""
    shop = await front.shop()
    union = await front.grassroots("HB-YC-XL")
    people = [await front.member(union) for _ in range(5)]
    _nobody, pending, level1, level2, level3 = people
    await front.hardship(pending, 2, approve=False)
    first = await front.hardship(level1, 1)
    await front.hardship(level2, 2)
    third = await front.hardship(level3, 3)
    hb = front.orgs["HB"]
    in_hardship = await front.program(hb, eligibility={"categories_any": ["hardship"]})
    levels_23 = await front.program(hb, eligibility={"hardship_levels": [2, 3]})
    not_hardship = await front.program(hb, eligibility={"categories_none": ["hardship"]})
    both = await front.program(
        hb, eligibility={"categories_any": ["hardship"], "hardship_levels": [3]}
    )
    cases = [
        (in_hardship, [MISSING, MISSING, "ok", "ok", "ok"]),
        (levels_23, [LEVEL, LEVEL, LEVEL, "ok", "ok"]),
        (not_hardship, ["ok", "ok", EXCLUDED, EXCLUDED, EXCLUDED]),
        (both, [f"{MISSING},hardship_level"] * 2 + [LEVEL, LEVEL, "ok"]),
    ]
    for prog, expected in cases:
        got = [await judged(front, shop, who, prog) for who in people]
        assert got == expected, prog["rules"]["eligibility"]

    # Reviewed from level 1 to 3; level 3's record revoked.
    await front.decide(first, "review", {"level": 3})
    await front.decide(third, "revoke", {"reason": "已就业,收入稳定"})
    assert [await judged(front, shop, level1, p) for p in (levels_23, not_hardship, both)] == [
        "ok",
        EXCLUDED,
        "ok",
    ]
    assert [await judged(front, shop, level3, p) for p in (in_hardship, levels_23)] == [
        MISSING,
        LEVEL,
    ]
    assert await judged(front, shop, level3, not_hardship) == "ok"

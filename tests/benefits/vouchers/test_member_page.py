"""The member's voucher page (/m/vouchers) over HTTP: a lottery campaign offers an entry
button (never a claim button), the entry shows the member's draw id, and after the draw the
page and ``/api/v1/me/vouchers/lotteries`` say who won; the wallet names the directory's
stores where each usable voucher is accepted (the campaign's scope, as the till checks it).
Everything made through the staff and member APIs; on both engines."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from time_machine import TimeMachineFixture

from tests.benefits.vouchers.conftest import API, ME, campaign_body, claim, published_campaign
from tests.merchants.directory.helpers import ALWAYS
from tests.support.front import Front, Shop

HX = {"HX-Request": "true"}
WINDOW = 60  # seconds the lottery's entries stay open (the clock is moved past it)


@pytest.fixture
def admission() -> str:
    """The in-process admission store only: these tests are about the page, not the store."""
    return ""


def _card(html: str, attr: str, value: str) -> str:
    found = re.search(rf'<li class="card [^"]*" [^>]*{attr}="{value}".*?</li>', html, re.S)
    assert found, f"{attr}={value} not on the page"
    return found.group(0)


async def test_lottery_entry_on_the_page_and_the_result(
    front: Front, time_machine: TimeMachineFixture
) -> None:
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(3)]
    closes = datetime.now(UTC) + timedelta(seconds=WINDOW)
    body = campaign_body(front, mode="lottery", stock=1, closes_at=closes.isoformat())
    c = await published_campaign(front, **{k: body[k] for k in ("mode", "stock", "closes_at")})
    cid = c["id"]

    draw_ids = {}
    for p in people[:2]:
        async with front.as_member(p.phone) as m:
            page = (await m.get("/m/vouchers")).text
            card = _card(page, "data-campaign", cid)
            assert f'hx-post="/m/vouchers/{cid}/apply"' in card and "报名抽签" in card
            assert "立即领取" not in card and c["commitment"] in card
            r = await m.post(f"/m/vouchers/{cid}/apply", headers=HX)
            assert r.status_code == 200 and r.headers["HX-Redirect"].startswith("/m/vouchers")
            again = await m.post(f"/m/vouchers/{cid}/apply", headers=HX)  # a second tap
            assert again.status_code == 200
            card = _card((await m.get("/m/vouchers")).text, "data-campaign", cid)
            assert "已报名" in card and "报名抽签" not in card
            mine = (await m.get(f"{ME}/lotteries")).json()["items"]
            assert [(i["campaign_id"], i["won"]) for i in mine] == [(cid, None)]
            draw_ids[p.phone] = mine[0]["pseudonym"]
            assert draw_ids[p.phone] in card

    time_machine.move_to(closes + timedelta(seconds=0.3))  # the window has closed
    async with front.as_member(people[2].phone) as m:
        late = await m.post(f"/m/vouchers/{cid}/apply", headers=HX)
        assert late.status_code == 409 and 'data-code="voucher_closed"' in late.text
        assert "活动已结束" in late.text
    async with front.as_member(people[0].phone) as m:
        before = (await m.get("/m/vouchers")).text
        waiting = _card(before, "data-lottery", cid)
        assert 'data-result="pending"' in waiting and "等待开奖" in waiting

    record = (await front.client.post(f"{API}/{cid}/draw")).json()
    assert record["seed"] not in before  # the seed is secret until the draw
    assert sorted(record["applicants"]) == sorted(draw_ids.values())
    results = {}
    for p in people[:2]:
        async with front.as_member(p.phone) as m:
            page = (await m.get("/m/vouchers")).text
            mine = (await m.get(f"{ME}/lotteries")).json()["items"]
            wallet = (await m.get(f"{ME}/")).json()["items"]
        won = draw_ids[p.phone] in record["winners"]
        results[p.phone] = won
        assert [i["won"] for i in mine] == [won]
        card = _card(page, "data-lottery", cid)
        assert f'data-result="{"won" if won else "lost"}"' in card
        assert ("已中签" if won else "未中签") in card and record["seed"] in card
        assert len(wallet) == int(won)
        if won:
            assert f'data-voucher="{wallet[0]["id"]}"' in page
    assert sorted(results.values()) == [False, True]


async def _placed(front: Front, category: str, region: str = "420502") -> Shop:
    shop = await front.shop(category, region=region)
    r = await front.client.patch(
        f"/api/v1/stores/{shop.store_id}/listing",
        json={"location": {"lat": 30.70, "lng": 111.29}, "hours": ALWAYS},
    )
    assert r.status_code == 200, r.text
    return shop


async def test_wallet_names_the_stores_where_a_voucher_is_accepted(front: Front) -> None:
    who = await front.member(await front.grassroots("HB-YC-XL"))
    eatery = await _placed(front, "dining")
    # Beijing (no demo store there): a retail and a dining store.
    shop, other = await _placed(front, "retail", "110105"), await _placed(front, "dining", "110105")
    terms = campaign_body(front)["terms"]
    one_store = await published_campaign(
        front, terms={**terms, "scope": {"store_ids": [eatery.store_id]}}
    )
    retail = await published_campaign(
        front, terms={**terms, "scope": {"merchant_categories": ["retail"], "regions": ["110000"]}}
    )
    anywhere = await published_campaign(front, terms={**terms, "scope": {}})
    vouchers = {}
    for c in (one_store, retail, anywhere):
        r = await claim(front, who.phone, c["id"])
        assert r.status_code == 201, r.text
        vouchers[c["id"]] = r.json()["id"]

    async with front.as_member(who.phone) as m:
        page = (await m.get("/m/vouchers")).text
        cards = {cid: _card(page, "data-voucher", vid) for cid, vid in vouchers.items()}
        links = {
            cid: set(re.findall(r'href="/m/stores/([0-9a-f-]+)"', t)) for cid, t in cards.items()
        }
        assert links[one_store["id"]] == {eatery.store_id}
        assert links[retail["id"]] == {shop.store_id}  # not the dining one next door
        assert other.store_id not in page
        assert not links[anywhere["id"]] and 'href="/m/nearby"' in cards[anywhere["id"]]
        assert "适用门店" in cards[one_store["id"]]
        # The link opens the directory's store page.
        assert (await m.get(f"/m/stores/{shop.store_id}")).status_code == 200


async def test_a_lottery_called_off_says_so(front: Front) -> None:
    who = await front.member(await front.grassroots("HB-YC-XL"))
    c = await published_campaign(front, mode="lottery", stock=1)
    async with front.as_member(who.phone) as m:
        r = await m.post(f"/m/vouchers/{c['id']}/apply", headers=HX)
        assert r.status_code == 200, r.text
    assert (await front.client.post(f"{API}/{c['id']}/end")).status_code == 200
    async with front.as_member(who.phone) as m:
        page = (await m.get("/m/vouchers")).text
        assert f'data-campaign="{c["id"]}"' not in page  # no longer offered
        card = _card(page, "data-lottery", c["id"])
        assert 'data-result="ended"' in card and "活动已取消" in card
        mine = (await m.get(f"{ME}/lotteries")).json()["items"]
        assert [(i["campaign_id"], i["won"]) for i in mine] == [(c["id"], None)]

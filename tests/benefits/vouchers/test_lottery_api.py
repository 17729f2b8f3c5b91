"""Lottery campaigns through the API: a commitment published at creation, members apply in the
window (once; a claim is refused), the draw after it gives the winners their vouchers, and the
published seed and applicant list reproduce the winners exactly."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from time_machine import TimeMachineFixture

from benefits.rules.draw import draw
from tests.benefits.vouchers.conftest import API, ME, campaign_body, claim
from tests.support.front import Front

WINDOW = 60  # seconds the applications stay open (the clock is moved past it, not waited for)


async def test_apply_draw_and_verify(front: Front, time_machine: TimeMachineFixture) -> None:
    org = await front.grassroots("HB-YC-XL")
    people = [await front.member(org) for _ in range(4)]
    now = datetime.now(UTC)
    closes = now + timedelta(seconds=WINDOW)
    body = campaign_body(front, mode="lottery", stock=2, closes_at=closes.isoformat())
    r = await front.client.post(API, json=body)
    assert r.status_code == 201, r.text
    c = r.json()
    assert len(c["commitment"]) == 64 and "seed" not in c
    assert (await front.client.post(f"{API}/{c['id']}/publish")).status_code == 200

    pseudonyms = {}
    for p in people[:3]:
        async with front.as_member(p.phone) as m:
            first = await m.post(f"{ME}/campaigns/{c['id']}/apply")
            assert first.status_code == 201, first.text
            again = await m.post(f"{ME}/campaigns/{c['id']}/apply")
            assert again.status_code == 200 and again.json() == first.json()
            pseudonyms[p.id] = first.json()["pseudonym"]
            early = (await m.get(f"{ME}/campaigns/{c['id']}/draw")).json()
            assert early["applicants"] is None and early["seed"] is None
    refused = await claim(front, people[3].phone, c["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "voucher_lottery"
    too_soon = await front.client.post(f"{API}/{c['id']}/draw")
    assert too_soon.status_code == 409, too_soon.text

    time_machine.move_to(closes + timedelta(seconds=0.5))  # the window has closed
    async with front.as_member(people[3].phone) as m:
        late = await m.post(f"{ME}/campaigns/{c['id']}/apply")
        assert late.status_code == 409 and late.json()["code"] == "voucher_closed"
    drawn = await front.client.post(f"{API}/{c['id']}/draw")
    assert drawn.status_code == 200, drawn.text
    rec = drawn.json()
    assert (await front.client.post(f"{API}/{c['id']}/draw")).status_code == 409  # once

    # Anyone shown the record recomputes it.
    assert hashlib.sha256(bytes.fromhex(rec["seed"])).hexdigest() == c["commitment"]
    assert sorted(rec["applicants"]) == sorted(pseudonyms.values())
    assert draw(rec["seed"], rec["applicants"], rec["k"]) == rec["winners"]
    assert len(rec["winners"]) == 2 == len(set(rec["winners"]))
    for p in people[:3]:
        async with front.as_member(p.phone) as m:
            wallet = (await m.get(f"{ME}/")).json()["items"]
            seen = (await m.get(f"{ME}/campaigns/{c['id']}/draw")).json()
        assert seen == rec
        assert len(wallet) == (1 if pseudonyms[p.id] in rec["winners"] else 0)
    figures = (await front.client.get(f"{API}/{c['id']}/figures")).json()
    assert figures["claimed"] == 2 and figures["left"] == 0


async def test_lottery_of_a_draft_or_another_subtree_is_not_found(front: Front) -> None:
    draft = (await front.client.post(API, json=campaign_body(front, mode="lottery"))).json()
    who = await front.member(await front.grassroots("HB-YC-XL"))
    async with front.as_member(who.phone) as m:
        for path in ("apply", "draw"):
            call = m.post if path == "apply" else m.get
            r = await call(f"{ME}/campaigns/{draft['id']}/{path}")
            assert r.status_code == 404, r.text
        r = await m.post(f"{ME}/campaigns/{uuid.uuid4()}/apply")
        assert r.status_code == 404

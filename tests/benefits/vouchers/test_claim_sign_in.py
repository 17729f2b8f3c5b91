"""The claim checks the request's sign-in before it answers anything about the campaign, also
now that the session is read in the admission's round trip: a request without a valid session
gets 401 (403 without its CSRF token), never the campaign's 409, while the campaign is selling
and once it is sold out; a signed-in retry still gets its voucher, and a Redis that lost its
scripts answers the same."""

from __future__ import annotations

import uuid

from benefits.vouchers.admission import RedisAdmission
from tests.benefits.vouchers.conftest import ME, published_campaign
from tests.benefits.vouchers.conftest import claim as claim_http
from tests.support.front import Front


async def _unsigned(front: Front, cid: str) -> list[tuple[int, str]]:
    """(status, code) of claims without a member session, with an unknown one, and with a
    signed-out one (the staff's client: its own cookies and CSRF header, no member's)."""
    path = f"{ME}/campaigns/{cid}/claim"
    out = []
    r = await front.client.post(path, json={"request_id": uuid.uuid4().hex})
    out.append((r.status_code, r.json()["code"]))
    front.client.cookies.set("uc_member", "x" * 43)
    try:
        r = await front.client.post(path, json={"request_id": uuid.uuid4().hex})
        out.append((r.status_code, r.json()["code"]))
    finally:
        front.client.cookies.delete("uc_member")
    return out


async def test_no_campaign_answer_before_the_sign_in(front: Front) -> None:
    c = await published_campaign(front, stock=1)
    org = await front.grassroots("HB-YC-XL")
    first, second, leaving = [await front.member(org) for _ in range(3)]
    unsigned = [(401, "unauthorized")] * 2
    assert await _unsigned(front, c["id"]) == unsigned  # open, not yet seen open by the worker
    key = uuid.uuid4().hex
    granted = await claim_http(front, first.phone, c["id"], key)
    assert granted.status_code == 201
    # Sold out now: without a session still 401, and no voucher was taken by those attempts.
    assert await _unsigned(front, c["id"]) == unsigned
    async with front.as_member(second.phone) as phone:
        phone.headers["x-csrf-token"] = "not-the-token"
        r = await phone.post(f"{ME}/campaigns/{c['id']}/claim", json={"request_id": key})
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")  # not the other's voucher
    async with front.as_member(leaving.phone) as phone:
        token = next(str(k.value) for k in phone.cookies.jar if k.name == "uc_member")
        csrf = phone.headers["x-csrf-token"]
        assert (await phone.delete("/api/v1/me/session")).status_code == 204
    front.client.cookies.set("uc_member", token)  # the signed-out session's cookie, replayed
    try:
        r = await front.client.post(
            f"{ME}/campaigns/{c['id']}/claim",
            json={"request_id": uuid.uuid4().hex},
            headers={"x-csrf-token": csrf},
        )
    finally:
        front.client.cookies.delete("uc_member")
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    refused = await claim_http(front, second.phone, c["id"])
    assert (refused.status_code, refused.json()["code"]) == (409, "voucher_sold_out")
    again = await claim_http(front, first.phone, c["id"], key)
    assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]


async def test_a_redis_without_the_script_answers_the_same(front: Front) -> None:
    """The peek goes by the script's digest in a pipeline: when Redis does not have the script
    (restarted, or flushed) it is loaded again, and the refusal, the retry and the sign-in
    check hold. The app is made to ask by a digest the server never saw, which Redis answers as
    after a restart (not SCRIPT FLUSH: that would empty the shared server of the other tests'
    scripts). In process the same requests answer the same."""
    c = await published_campaign(front, stock=1)
    org = await front.grassroots("HB-YC-XL")
    first, second = await front.member(org), await front.member(org)
    key = uuid.uuid4().hex
    granted = await claim_http(front, first.phone, c["id"], key)
    assert granted.status_code == 201
    store = front.app.state.voucher_admission

    def lose_the_script() -> None:
        if isinstance(store, RedisAdmission):
            store._admit.sha = "0" * 40  # what the server never loaded; reloaded on NOSCRIPT

    for _ in range(2):
        lose_the_script()
        refused = await claim_http(front, second.phone, c["id"])
        assert (refused.status_code, refused.json()["code"]) == (409, "voucher_sold_out")
        lose_the_script()
        again = await claim_http(front, first.phone, c["id"], key)
        assert again.status_code == 200 and again.json()["id"] == granted.json()["id"]
        lose_the_script()
        assert await _unsigned(front, c["id"]) == [(401, "unauthorized")] * 2


async def test_the_sign_in_answers_before_the_body(front: Front) -> None:
    """A body that is not a claim is refused 400 only to a signed-in member; without a
    session the answer is 401, as on every route whose dependency reads the session."""
    c = await published_campaign(front, stock=1)
    path = f"{ME}/campaigns/{c['id']}/claim"
    bad: list[dict[str, object]] = [{"request_id": 5}, {}, {"request_id": "短"}]
    for body in bad:
        r = await front.client.post(path, json=body)
        assert (r.status_code, r.json()["code"]) == (401, "unauthorized"), (body, r.text)
    person = await front.member(await front.grassroots("HB-YC-XL"))
    async with front.as_member(person.phone) as phone:
        for body in bad:
            r = await phone.post(path, json=body)
            assert r.status_code == 400, (body, r.text)
        phone.headers["x-csrf-token"] = "not-the-token"
        r = await phone.post(path, json=bad[0])
        assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")

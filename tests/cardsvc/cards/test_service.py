"""Card lifecycle, keys, published material and online verification on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from stdnum import luhn

import cardsvc.cards.models  # noqa: F401  (card tables in the metadata)
from cardsvc.cards import minting as mint
from cardsvc.cards import online, service, summaries
from cardsvc.cards.errors import CardError, TokenError
from cardsvc.cards.keys import (
    KeyRing,
    decrypt_signer,
    ensure_signing_key,
    jwks,
    list_keys,
    load_signer,
    retire_key,
    rotate_key,
)
from cardsvc.cards.models import Card, CardEventKind, CardStatus, KeyStatus, SigningKey
from cardsvc.cards.statuslist import parse_status_list
from cardsvc.cards.token import Kind
from cardsvc.cards.verify import parse_jwks, verify
from cardsvc.kernel.pii import PiiCipher
from cardsvc.members.models import MemberStatus
from tests.support.cards import NOW, MakeMember

STAFF = service.Actor("王科员")


async def error_code(coro: Awaitable[object]) -> str:
    with pytest.raises((CardError, TokenError)) as info:
        await coro
    return info.value.code


# --- issuance and lifecycle -----------------------------------------------------------------


async def test_issue_card(session: AsyncSession, make_member: MakeMember) -> None:
    m1, m2 = await make_member(), await make_member()
    c1 = await service.issue_card(session, member_id=m1.id, now=NOW)
    c2 = await service.issue_card(session, member_id=m2.id, actor=STAFF, now=NOW)
    assert (c1.status, c1.generation, c1.status_index) == (CardStatus.active, 1, 0)
    assert c2.status_index == 1
    for card in (c1, c2):
        assert len(card.number) == 16 and card.number.isdigit() and luhn.is_valid(card.number)
        assert service.is_valid_card_number(card.number)
    assert c1.number != c2.number
    assert (current := await service.current_card(session, member_id=m1.id)) is not None
    assert current.id == c1.id
    assert (await service.get_card_by_number(session, number=c2.number)).id == c2.id
    history = await service.card_history(session, member_id=m2.id)
    assert [(e.kind, e.actor_name) for e in history] == [(CardEventKind.issued, "王科员")]


async def test_issue_refuses_inactive_member_and_second_card(
    session: AsyncSession, make_member: MakeMember
) -> None:
    pending = await make_member(status=MemberStatus.pending)
    assert await error_code(service.issue_card(session, member_id=pending.id)) == "member_inactive"
    m = await make_member()
    await service.issue_card(session, member_id=m.id)
    assert await error_code(service.issue_card(session, member_id=m.id)) == "card_exists"
    import uuid

    missing = service.issue_card(session, member_id=uuid.uuid4())
    assert await error_code(missing) == "member_not_found"


async def test_one_current_card_is_enforced_by_the_database(
    session: AsyncSession, make_member: MakeMember
) -> None:
    m = await make_member()
    card = await service.issue_card(session, member_id=m.id, now=NOW)
    session.add(
        Card(
            member_id=m.id,
            number="9000000000009999",
            generation=2,
            status=CardStatus.active,
            status_index=99,
            issued_at=NOW,
        )
    )
    with pytest.raises(IntegrityError):
        await session.flush()
    await session.rollback()
    assert card.id is not None


async def test_reissue_revokes_the_old_generation(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    m = await make_member()
    old = await service.issue_card(session, member_id=m.id, now=NOW)
    [old_token] = await mint.rotating_tokens_for_member(
        session, member_id=m.id, keyring=keyring, now=NOW
    )
    new = await service.reissue_card(
        session, member_id=m.id, reason="手机丢失", actor=STAFF, now=NOW + timedelta(seconds=1)
    )
    assert (new.generation, new.previous_id, new.status) == (2, old.id, CardStatus.active)
    assert new.number != old.number and new.status_index != old.status_index
    assert old.status == CardStatus.revoked and old.status_reason == "reissued: 手机丢失"
    assert (current := await service.current_card(session, member_id=m.id)) is not None
    assert current.id == new.id

    later = NOW + timedelta(seconds=5)
    # Online: the old generation's token is refused; a new token works.
    code = await error_code(
        online.verify_online(session, old_token.text, keyring=keyring, now=later)
    )
    assert code == "card_revoked"
    [fresh] = await mint.rotating_tokens_for_member(
        session, member_id=m.id, keyring=keyring, now=later
    )
    ok = await online.verify_online(session, fresh.text, keyring=keyring, now=later)
    assert (ok.card_id, ok.member_id, ok.generation) == (new.id, m.id, 2)
    # Offline: the status list has the old index revoked.
    keyset = parse_jwks(await jwks(session))
    sl = parse_status_list(await mint.build_status_list(session, keyring=keyring), keyset)
    with pytest.raises(CardError) as info:
        verify(old_token.text, keyset, sl, later)
    assert info.value.code == "card_revoked"
    assert verify(fresh.text, keyset, sl, later).generation == 2

    kinds = [e.kind for e in await service.card_history(session, member_id=m.id)]
    assert kinds == [CardEventKind.issued, CardEventKind.revoked, CardEventKind.reissued]
    assert [c.generation for c in await service.member_cards(session, member_id=m.id)] == [1, 2]


async def test_suspend_resume_revoke(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    m = await make_member()
    card = await service.issue_card(session, member_id=m.id, now=NOW)
    static = await mint.static_token_for_card(session, card_id=card.id, keyring=keyring, now=NOW)
    assert static.kind is Kind.static and static.expires_at - NOW >= timedelta(days=365)
    t = NOW + timedelta(days=1)

    await service.suspend_card(session, card_id=card.id, reason="实体卡遗失", actor=STAFF, now=t)
    assert card.status == CardStatus.suspended
    code = await error_code(online.verify_online(session, static.text, keyring=keyring, now=t))
    assert code == "card_suspended"
    keyset = parse_jwks(await jwks(session))
    sl = parse_status_list(await mint.build_status_list(session, keyring=keyring, now=t), keyset)
    assert sl.is_revoked(card.status_index)
    minting = mint.rotating_tokens_for_member(session, member_id=m.id, keyring=keyring, now=t)
    assert await error_code(minting) == "card_suspended"
    again = service.suspend_card(session, card_id=card.id, reason="x", now=t)
    assert await error_code(again) == "card_state_conflict"

    await service.resume_card(session, card_id=card.id, reason="已找回", actor=STAFF, now=t)
    ok = await online.verify_online(session, static.text, keyring=keyring, now=t)
    assert ok.kind is Kind.static and ok.card_number == card.number
    refused = online.verify_online(
        session, static.text, keyring=keyring, now=t, accept_static=False
    )
    assert await error_code(refused) == "static_token_refused"
    sl = parse_status_list(await mint.build_status_list(session, keyring=keyring, now=t), keyset)
    assert not sl.is_revoked(card.status_index)

    await service.revoke_card(session, card_id=card.id, reason="违规使用", actor=STAFF, now=t)
    code = await error_code(online.verify_online(session, static.text, keyring=keyring, now=t))
    assert code == "card_revoked"
    resume = service.resume_card(session, card_id=card.id, reason="x", now=t)
    assert await error_code(resume) == "card_state_conflict"
    revoke = service.revoke_card(session, card_id=card.id, reason="x", now=t)
    assert await error_code(revoke) == "card_state_conflict"

    history = await service.card_history(session, member_id=m.id)
    assert [(e.kind, e.reason) for e in history] == [
        (CardEventKind.issued, None),
        (CardEventKind.suspended, "实体卡遗失"),
        (CardEventKind.resumed, "已找回"),
        (CardEventKind.revoked, "违规使用"),
    ]
    # After a revocation a new card can be issued; its generation continues.
    card2 = await service.issue_card(session, member_id=m.id, now=t)
    assert card2.generation == 2


async def test_member_leaving_revokes_the_card(
    session: AsyncSession, make_member: MakeMember
) -> None:
    m = await make_member()
    card = await service.issue_card(session, member_id=m.id, now=NOW)
    revoked = await service.revoke_member_cards(session, member_id=m.id, reason="退会")
    assert revoked is not None and revoked.id == card.id and card.status == CardStatus.revoked
    assert await service.revoke_member_cards(session, member_id=m.id, reason="退会") is None


async def test_issue_cards_for_active_members(
    session: AsyncSession, make_member: MakeMember
) -> None:
    a, _pending, b = (
        await make_member(),
        await make_member(status=MemberStatus.pending),
        await make_member(),
    )
    await service.issue_card(session, member_id=a.id, now=NOW)
    cards = await service.issue_cards_for_active_members(session, now=NOW)
    assert [c.member_id for c in cards] == [b.id]
    assert await service.issue_cards_for_active_members(session, now=NOW) == []


# --- tokens and online verification ---------------------------------------------------------


async def test_rotating_batch(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    m = await make_member()
    card = await service.issue_card(session, member_id=m.id, now=NOW)
    batch = await mint.rotating_tokens_for_member(
        session, member_id=m.id, keyring=keyring, count=10, now=NOW
    )
    assert len({t.text for t in batch}) == 10 and len({t.token_id for t in batch}) == 10
    for i, t in enumerate(batch):
        assert t.not_before == NOW + timedelta(seconds=30 * i)
        assert t.expires_at == t.not_before + timedelta(seconds=60)
        assert t.refresh_at == t.not_before + timedelta(seconds=30)
        assert len(t.text) == 147
    # The 10th code is not yet valid now but is when its time comes.
    code = await error_code(online.verify_online(session, batch[9].text, keyring=keyring, now=NOW))
    assert code == "not_yet_valid"
    ok = await online.verify_online(
        session, batch[9].text, keyring=keyring, now=batch[9].not_before
    )
    assert ok.card_id == card.id and ok.token_id == batch[9].token_id
    late = batch[0].expires_at + timedelta(seconds=30)
    code = await error_code(online.verify_online(session, batch[0].text, keyring=keyring, now=late))
    assert code == "token_expired"
    with pytest.raises(ValueError):
        mint.mint_rotating_batch(card, await keyring.signer(session), now=NOW, count=0)


async def test_online_verify_rejects_bad_tokens(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    m = await make_member()
    await service.issue_card(session, member_id=m.id, now=NOW)
    [t] = await mint.rotating_tokens_for_member(session, member_id=m.id, keyring=keyring, now=NOW)
    for bad, code in [
        ("", "malformed"),
        (t.text[:-1], "malformed"),
        (t.text[:-1] + ("A" if t.text[-1] != "A" else "B"), "signature_invalid"),
    ]:
        assert (
            await error_code(online.verify_online(session, bad, keyring=keyring, now=NOW)) == code
        )
    assert (
        await online.verify_online(session, t.text.lower(), keyring=keyring, now=NOW)
    ).member_id == m.id


# --- keys -----------------------------------------------------------------------------------


async def test_key_rotation_and_retirement(
    session: AsyncSession, make_member: MakeMember, cipher: PiiCipher
) -> None:
    first = await ensure_signing_key(session, cipher, now=NOW)
    assert (await ensure_signing_key(session, cipher, now=NOW)).id == first.id
    assert first.kid == 1 and first.status == KeyStatus.active
    assert cipher.key_id(first.private_key_enc) == "t1" and "." in first.private_key_enc
    assert decrypt_signer(first, cipher).kid == 1

    keyring = KeyRing(cipher)
    m = await make_member()
    await service.issue_card(session, member_id=m.id, now=NOW)
    [old] = await mint.rotating_tokens_for_member(session, member_id=m.id, keyring=keyring, now=NOW)
    assert old.text.startswith("UC1")

    second = await rotate_key(session, cipher, now=NOW)
    keys = {k.kid: k.status for k in await list_keys(session)}
    assert keys == {1: KeyStatus.retiring, 2: KeyStatus.active}
    assert (await load_signer(session, cipher)).kid == second.kid == 2
    published = await jwks(session)
    assert [(k["kid"], k["status"]) for k in published["keys"]] == [
        ("1", "retiring"),
        ("2", "active"),
    ]

    keyring.invalidate()
    [new] = await mint.rotating_tokens_for_member(session, member_id=m.id, keyring=keyring, now=NOW)
    ok_new = await online.verify_online(session, new.text, keyring=keyring, now=NOW)
    ok_old = await online.verify_online(session, old.text, keyring=keyring, now=NOW)
    assert (ok_new.claims.kid, ok_old.claims.kid) == (2, 1)

    assert await error_code(retire_key(session, 2)) == "key_active"
    assert await error_code(retire_key(session, 99)) == "key_not_found"
    await retire_key(session, 1, now=NOW)
    assert await error_code(retire_key(session, 1)) == "key_retired"
    assert [k["kid"] for k in (await jwks(session))["keys"]] == ["2"]
    keyring.invalidate()
    code = await error_code(online.verify_online(session, old.text, keyring=keyring, now=NOW))
    assert code == "unknown_key"

    # Key ids are never reused: the next rotation gets 3 even though 1 is retired.
    assert (await rotate_key(session, cipher, now=NOW)).kid == 3


async def test_a_second_active_key_is_refused_by_the_database(
    session: AsyncSession, cipher: PiiCipher
) -> None:
    first = await ensure_signing_key(session, cipher, now=NOW)
    session.add(
        SigningKey(
            kid=first.kid + 1,
            status=KeyStatus.active,
            public_key=first.public_key,
            private_key_enc=first.private_key_enc,
            data_key_id="t1",
            activated_at=NOW,
        )
    )
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_keyring_picks_up_a_key_made_elsewhere(
    session: AsyncSession, make_member: MakeMember, cipher: PiiCipher
) -> None:
    """Another worker rotated: our cache does not know the kid yet and reloads on the miss."""
    await ensure_signing_key(session, cipher, now=NOW)
    clock = [1000.0]
    ours = KeyRing(cipher, clock=lambda: clock[0])
    other = KeyRing(cipher)
    m = await make_member()
    await service.issue_card(session, member_id=m.id, now=NOW)
    await ours.verifying_keys(session)  # cached: kid 1 only
    await rotate_key(session, cipher, now=NOW)
    [t] = await mint.rotating_tokens_for_member(session, member_id=m.id, keyring=other, now=NOW)
    clock[0] += 0.5  # within the miss interval: no reload yet
    assert (
        await error_code(online.verify_online(session, t.text, keyring=ours, now=NOW))
        == "unknown_key"
    )
    clock[0] += 1.0
    assert (await online.verify_online(session, t.text, keyring=ours, now=NOW)).claims.kid == 2


async def test_no_signing_key(
    session: AsyncSession, make_member: MakeMember, cipher: PiiCipher
) -> None:
    m = await make_member()
    await service.issue_card(session, member_id=m.id, now=NOW)
    minting = mint.rotating_tokens_for_member(
        session, member_id=m.id, keyring=KeyRing(cipher), now=NOW
    )
    assert await error_code(minting) == "no_signing_key"


async def test_status_list_marks_only_inactive_rows(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    cards = [
        await service.issue_card(session, member_id=(await make_member()).id, now=NOW)
        for _ in range(12)
    ]
    await service.revoke_card(session, card_id=cards[3].id, reason="x", now=NOW)
    await service.suspend_card(session, card_id=cards[10].id, reason="x", now=NOW)
    keyset = parse_jwks(await jwks(session))
    sl = parse_status_list(
        await mint.build_status_list(session, keyring=keyring, now=NOW, subject="urn:x"),
        keyset,
    )
    assert [c.status_index for c in cards if sl.is_revoked(c.status_index)] == [3, 10]
    assert sl.issued_at == int(NOW.timestamp()) and sl.subject == "urn:x"
    rows = (await session.execute(select(Card.status_index).order_by(Card.status_index))).scalars()
    assert list(rows) == list(range(12))


async def test_empty_status_list(session: AsyncSession, keyring: KeyRing) -> None:
    keyset = parse_jwks(await jwks(session))
    sl = parse_status_list(await mint.build_status_list(session, keyring=keyring), keyset)
    assert sl.size == 0 and not sl.is_revoked(0)


async def test_concurrent_issuance_allocates_distinct_indices(
    engine, make_member: MakeMember, session: AsyncSession
) -> None:
    import asyncio

    from cardsvc.kernel.db import make_sessionmaker

    members = [await make_member() for _ in range(8)]
    await session.commit()
    maker = make_sessionmaker(engine)

    async def issue(member_id):
        async with maker() as s, s.begin():
            card = await service.issue_card(s, member_id=member_id, now=NOW)
            return card.status_index, card.number

    results = await asyncio.gather(*(issue(m.id) for m in members))
    assert sorted(i for i, _ in results) == list(range(8))
    assert len({n for _, n in results}) == 8


async def test_printable_card(
    session: AsyncSession, make_member: MakeMember, keyring: KeyRing
) -> None:
    from cardsvc.cards import render

    m = await make_member(name="欧阳娜娜")
    card = await service.issue_card(session, member_id=m.id, now=NOW)
    printed = await summaries.printable_card(session, card_id=card.id, keyring=keyring, now=NOW)
    assert printed.card_number == card.number and printed.token.kind is Kind.static
    assert render.read_qr(printed.png) == printed.token.text
    ok = await online.verify_online(session, printed.token.text, keyring=keyring, now=NOW)
    assert ok.member_id == m.id

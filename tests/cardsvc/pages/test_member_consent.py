"""Member sign-in over HTTP on SQLite and PostgreSQL: no session without accepting the user
agreement and privacy notice, the versions accepted recorded once per version, and the card
page's redemption notice answering "nothing yet" without a swap."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cardsvc.app import create_app
from cardsvc.kernel.settings import Settings
from cardsvc.memberauth.consent import accepted_versions, consent_history, record_consent
from cardsvc.memberauth.senders import RecordingSender
from cardsvc.members.identity import parse_phone
from cardsvc.pages.member.terms import AGREEMENT, PRIVACY
from tests.conftest import make_test_settings
from tests.support.contract import contract_client

HX = {"HX-Request": "true"}


@pytest.fixture
def settings(db_url: str, var_dir: Path) -> Settings:
    return make_test_settings(db_url, var_dir)


@pytest.fixture
async def phone(settings: Settings, engine: AsyncEngine) -> AsyncIterator[Any]:
    app = create_app(settings)
    app.state.sender = RecordingSender()
    async with contract_client(app) as c:
        c.app_state = app.state  # type: ignore[attr-defined]
        yield c


def _code(c: Any) -> str:
    found = re.search(r"验证码 (\d{6})", c.app_state.sender.sent[-1][1])
    assert found
    return found.group(1)


async def _phone_hash(c: Any, phone: str) -> str:
    return str(c.app_state.cipher.lookup_hash("phone", parse_phone(phone)))


async def test_sign_in_needs_the_agreements_and_records_their_versions(
    phone: Any, engine: AsyncEngine, demo: dict[str, Any]
) -> None:
    number = demo["members"][0]["phone"]
    sent = await phone.post("/m/login/code", data={"phone": number}, headers=HX)
    assert sent.status_code == 200 and 'name="sent" value="1"' in sent.text
    assert "重新获取" in sent.text and 'data-wait="60"' in sent.text
    code = _code(phone)
    refused = await phone.post(
        "/m/login", data={"phone": number, "code": code, "sent": "1"}, headers=HX
    )
    assert refused.status_code == 422 and 'id="e-accept"' in refused.text
    assert "uc_member" not in refused.cookies and "HX-Redirect" not in refused.headers
    # Before a code was ever sent there is nothing to "send again".
    blank = await phone.post("/m/login", data={"phone": number, "accept": "yes"}, headers=HX)
    assert blank.status_code == 422 and "请先获取验证码" in blank.text
    assert "重新获取" not in blank.text

    ok = await phone.post(
        "/m/login", data={"phone": number, "code": code, "accept": "yes"}, headers=HX
    )
    assert ok.status_code == 200 and ok.headers["HX-Redirect"] == "/m/", ok.text
    ph = await _phone_hash(phone, number)
    async with AsyncSession(engine) as s:
        assert await accepted_versions(s, ph) == {
            AGREEMENT.key: AGREEMENT.version,
            PRIVACY.key: PRIVACY.version,
        }
        assert len(await consent_history(s, ph)) == 2
        # Accepting the same versions again adds nothing; a new version is a new row.
        await record_consent(s, ph, {AGREEMENT.key: AGREEMENT.version})
        await record_consent(s, ph, {AGREEMENT.key: "2099-01"})
        history = await consent_history(s, ph)
        assert [(c.document, c.version) for c in history][-1] == ("agreement", "2099-01")
        assert len(history) == 3
        assert (await accepted_versions(s, ph))[AGREEMENT.key] == "2099-01"


async def test_redemption_notice_is_empty_until_the_card_is_used(
    phone: Any, demo: dict[str, Any]
) -> None:
    number = demo["members"][0]["phone"]
    await phone.post("/m/login/code", data={"phone": number}, headers=HX)
    ok = await phone.post(
        "/m/login", data={"phone": number, "code": _code(phone), "accept": "yes"}, headers=HX
    )
    assert ok.status_code == 200
    card = await phone.get("/m/card")
    since = re.search(r'hx-get="/m/card/redeemed\?since=([^"]+)"', card.text)
    assert since, card.text
    nothing = await phone.get("/m/card/redeemed", params={"since": "2026-01-01T00:00:00+00:00"})
    assert nothing.status_code == 204 and nothing.content == b""
    garbled = await phone.get("/m/card/redeemed", params={"since": "yesterday"})
    assert garbled.status_code == 204

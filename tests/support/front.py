"""The front door for end-to-end rule tests: everything made through the same HTTP APIs that
staff, members and terminals use.

``Front`` holds one signed-in staff client (the demo federation's ``admin``) and makes
members (``POST /api/v1/members``, their card follows), shops (merchant → store → terminal
through the onboarding API), programmes (``POST /api/v1/programs`` then ``…/publish``), and
the codes a member shows (a printed card's static code through the staff card API, or the
phone's rotating code through the member's own sign-in). Categories are set by staff on the
member record, hardship by a hardship record approved one level above the member's union, a
transfer asked on the member's phone. Scans and redemptions (one programme, or several on a
bill) go through the terminal API with the shop's key; the staff simulator answers for a store.
Nothing here builds an engine input by hand.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from stdnum.cn import uscc as stdnum_uscc

from cardsvc.memberauth.senders import RecordingSender
from cardsvc.membership.service import PRIVACY_VERSION
from merchants.terminal.wiring import services_of
from tests.support.staff import login

Client = AsyncTestClient[Litestar]

STAFF = "admin"  # federation admin of the demo's root: members, cards, merchants, programmes
_serial = itertools.count(1)


def resident_id(birth: date, serial: int) -> str:
    """A valid 18-character resident ID number born on ``birth`` (Yichang, Xiling district)."""
    body = f"420502{birth:%Y%m%d}{serial % 1000:03d}"
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    return body + "10X98765432"[total % 11]


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True, slots=True)
class Shop:
    merchant_id: str
    store_id: str
    terminal_id: str
    key: str
    category: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass
class Person:
    id: str
    card_id: str
    phone: str
    _static: str | None = field(default=None, repr=False)


class Front:
    def __init__(self, app: Litestar, client: Client) -> None:
        self.app = app
        self.client = client
        self.orgs: dict[str, str] = {}
        self._sessions: dict[str, tuple[dict[str, str], str]] = {}  # phone → cookies, CSRF

    async def sign_in(self) -> Front:
        await login(self.client, STAFF)
        r = await self.client.get("/api/v1/orgs", params={"limit": 200})
        assert r.status_code == 200, r.text
        self.orgs = {o["code"]: o["id"] for o in r.json()["items"]}
        return self

    async def grassroots(self, district: str, nth: int = 0) -> str:
        """The id of the ``nth`` grassroots union under the district with code ``district``."""
        r = await self.client.get(
            "/api/v1/orgs",
            params={"level": "grassroots", "under": self.orgs[district], "limit": nth + 1},
        )
        assert r.status_code == 200 and len(r.json()["items"]) > nth, r.text
        return str(r.json()["items"][nth]["id"])

    # members -----------------------------------------------------------------------------

    async def member(
        self, org_id: str, *, born: date = date(1990, 5, 1), region: str | None = None
    ) -> Person:
        """An active member registered by staff; the card is issued with the membership.
        ``region`` is where they live (a code or a name), else their union's region."""
        n = next(_serial)
        phone = f"1770{uuid.uuid4().int % 10**7:07d}"
        body = {
            "name": "测试会员",
            "id_number": resident_id(born, n),
            "org_id": org_id,
            "phone": phone,
        }
        if region is not None:
            body["region_code"] = region
        r = await self.client.post("/api/v1/members", json=body)
        assert r.status_code == 201, r.text
        return await self._person(r.json()["id"], phone)

    async def _person(self, member_id: str, phone: str) -> Person:
        r = await self.client.get(f"/api/v1/members/{member_id}/cards")
        assert r.status_code == 200 and r.json()["current"], r.text
        return Person(member_id, r.json()["current"]["id"], phone)

    async def set_status(self, who: Person, status: str) -> None:
        r = await self.client.post(
            f"/api/v1/members/{who.id}/status", json={"status": status, "reason": "测试"}
        )
        assert r.status_code == 200, r.text

    async def set_categories(self, who: Person, categories: list[str]) -> dict[str, Any]:
        """Staff set the member's categories (劳模, retired…) on the member record."""
        r = await self.client.patch(f"/api/v1/members/{who.id}", json={"categories": categories})
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def hardship(self, who: Person, level: int, *, approve: bool = True) -> str:
        """A hardship record filed for the member, approved (by the union one level above:
        the signed-in federation admin may decide at every level) unless ``approve`` is off.
        Its id, for a review or revocation (:meth:`decide`)."""
        body = {
            "member_id": who.id,
            "category": "relative",
            "level": level,
            "circumstances": "家庭成员重病,收入微薄",
        }
        r = await self.client.post("/api/v1/hardship/records", json=body)
        assert r.status_code == 201, r.text
        rec = str(r.json()["id"])
        if approve:
            await self.decide(rec, "approve", {})
        return rec

    async def decide(self, record_id: str, action: str, body: dict[str, Any]) -> None:
        """``approve``, ``review`` (a new level) or ``revoke`` a hardship record."""
        r = await self.client.post(f"/api/v1/hardship/records/{record_id}/{action}", json=body)
        assert r.status_code == 200, r.text

    async def static_code(self, who: Person) -> str:
        """The printed card's long-lived code (reused: it is not single-use)."""
        if who._static is None:
            r = await self.client.post(f"/api/v1/members/{who.id}/cards/{who.card_id}/static-token")
            assert r.status_code == 200, r.text
            who._static = str(r.json()["text"])
        return who._static

    @asynccontextmanager
    async def as_member(self, phone: str) -> AsyncIterator[Client]:
        """The client signed in as the member (or applicant) with ``phone``. The same client:
        the app runs on its event loop; the member's cookies and CSRF header are dropped
        afterwards, the staff session's kept."""
        c, before = self.client, set(self.client.cookies.keys())
        staff_csrf = c.headers.get("x-csrf-token", "")
        try:
            if phone not in self._sessions:  # sign in once (codes are rate-limited per phone)
                sender = RecordingSender()
                self.app.state.sender = sender
                r = await c.post("/api/v1/me/otp", json={"phone": phone})
                assert r.status_code == 202, r.text
                match = re.search(r"验证码 (\d{6})", sender.sent[-1][1])
                assert match, sender.sent
                r = await c.post(
                    "/api/v1/me/session", json={"phone": phone, "code": match.group(1)}
                )
                assert r.status_code == 200, r.text
                cookies = {n: str(c.cookies[n]) for n in set(c.cookies.keys()) - before}
                self._sessions[phone] = (cookies, r.json()["csrf_token"])
            cookies, csrf = self._sessions[phone]
            for name, value in cookies.items():
                c.cookies.set(name, value)
            c.headers["x-csrf-token"] = csrf
            yield c
        finally:
            c.headers["x-csrf-token"] = staff_csrf
            for name in set(c.cookies.keys()) - before:
                c.cookies.delete(name)

    async def phone_code(self, who: Person) -> str:
        """A fresh rotating code, as the member's phone shows it after signing in."""
        async with self.as_member(who.phone) as phone:
            r = await phone.get("/api/v1/me/card/token")
            assert r.status_code == 200, r.text
            return str(r.json()["text"])

    async def my_benefits(self, who: Person) -> dict[str, bool]:
        """The member's own benefits page: programme id → usable now."""
        async with self.as_member(who.phone) as phone:
            r = await phone.get("/api/v1/me/benefits")
            assert r.status_code == 200, r.text
            return {i["program_id"]: i["usable_now"] for i in r.json()["items"]}

    async def join_online(self, org_id: str, *, born: date = date(1990, 5, 1)) -> Person:
        """A member who applied on their phone (网上入会) and whom staff approved."""
        n, phone = next(_serial), f"1770{uuid.uuid4().int % 10**7:07d}"
        async with self.as_member(phone) as applicant:
            body = {
                "name": "网上会员",
                "id_number": resident_id(born, n),
                "org_id": org_id,
                "consent": True,
                "privacy_version": PRIVACY_VERSION,
            }
            r = await applicant.post("/api/v1/me/applications", json=body)
            assert r.status_code == 201, r.text
            app_id = r.json()["id"]
        r = await self.client.post(f"/api/v1/approvals/applications/{app_id}/approve")
        assert r.status_code == 200, r.text
        r = await self.client.get("/api/v1/members", params={"member_no": r.json()["member_no"]})
        assert r.status_code == 200 and r.json()["total"] == 1, r.text
        return await self._person(r.json()["items"][0]["id"], phone)

    async def transfer(self, who: Person, to_org_id: str) -> None:
        """The member asks on their phone to move to another union (转会), which approves."""
        async with self.as_member(who.phone) as phone:
            r = await phone.post("/api/v1/me/transfers", json={"to_org_id": to_org_id})
            assert r.status_code == 201, r.text
            transfer_id = r.json()["id"]
        r = await self.client.post(f"/api/v1/approvals/transfers/{transfer_id}/approve")
        assert r.status_code == 200, r.text

    # shops -------------------------------------------------------------------------------

    async def merchant(self, category: str = "dining", *, region: str = "420502") -> str:
        n = next(_serial)
        body17 = f"91420502MA4M{n % 100000:05d}"
        body = {
            "org_id": self.orgs["HB-YC"],
            "legal_name": f"宜昌市测试商户{n}",
            "display_name": f"测试商户{n}",
            "uscc": body17 + stdnum_uscc.calc_check_digit(body17),
            "category": category,
            "region": region,
            "contact_name": "王师傅",
            "contact_phone": "13907179999",
        }
        r = await self.client.post("/api/v1/merchants", json=body)
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    async def store(self, merchant_id: str, category: str, *, region: str = "420502") -> Shop:
        r = await self.client.post(
            f"/api/v1/merchants/{merchant_id}/stores",
            json={
                "name": f"测试门店{next(_serial)}",
                "address": "宜昌市西陵区解放路 1 号",
                "region": region,
            },
        )
        assert r.status_code == 201, r.text
        store_id = r.json()["id"]
        r = await self.client.post(f"/api/v1/stores/{store_id}/terminals", json={"name": "收银台"})
        assert r.status_code == 201, r.text
        t = r.json()
        return Shop(merchant_id, store_id, t["terminal"]["id"], t["key"], category)

    async def shop(
        self, category: str = "dining", *, region: str = "420502", registered: str | None = None
    ) -> Shop:
        """A new merchant of ``category`` (registered in ``registered``, else ``region``) with
        one store in ``region`` and one terminal."""
        merchant = await self.merchant(category, region=registered or region)
        return await self.store(merchant, category, region=region)

    # programmes --------------------------------------------------------------------------

    async def program(self, owner_org_id: str, **rules: Any) -> dict[str, Any]:
        """A programme created and published by staff; ``rules`` override a 10 % dining one."""
        body: dict[str, Any] = {
            "name": "测试项目",
            "benefit": {"kind": "percent_off", "basis_points": 1000},
            "scope": {"merchant_categories": ["dining"]},
        }
        body.update(rules)
        code = f"MX{next(_serial):04d}"
        r = await self.client.post(
            "/api/v1/programs", json={"code": code, "owner_org_id": owner_org_id, "rules": body}
        )
        assert r.status_code == 201, r.text
        r = await self.client.post(f"/api/v1/programs/{r.json()['id']}/publish")
        assert r.status_code == 200, r.text
        return dict(r.json())

    # the till ----------------------------------------------------------------------------

    def set_clock(self, at: datetime) -> None:
        """The terminal's clock (token validity, the redemption's time and period)."""
        services_of(self.app.state).clock = lambda: at

    def reset_clock(self) -> None:
        services_of(self.app.state).clock = lambda: datetime.now(UTC)

    async def scan(
        self, shop: Shop, code: str, amount_fen: int | None = None, units: int = 1
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"code": code, "units": units}
        if amount_fen is not None:
            body["amount_fen"] = amount_fen
        r = await self.client.post("/api/v1/scans", json=body, headers=shop.headers)
        assert r.status_code == 200, r.text
        return dict(r.json())

    async def offered(
        self, shop: Shop, code: str, amount_fen: int | None = None, units: int = 1
    ) -> dict[str, dict[str, Any]]:
        """The programmes the scan offers, by programme id."""
        body = await self.scan(shop, code, amount_fen, units)
        return {b["program_id"]: b for b in body["benefits"]}

    async def redeem(
        self, shop: Shop, code: str, program: dict[str, Any], amount_fen: int, units: int = 1
    ) -> tuple[int, dict[str, Any]]:
        """The redemption's status and body (a problem's ``code`` on refusal)."""
        r = await self.client.post(
            "/api/v1/redemptions",
            json={
                "code": code,
                "program_id": program["id"],
                "amount_fen": amount_fen,
                "units": units,
            },
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code in (201, 403, 409, 422), r.text
        return r.status_code, dict(r.json())

    async def redeem_bill(
        self,
        shop: Shop,
        code: str,
        programs: list[dict[str, Any]],
        amount_fen: int = 10000,
        bill_ref: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Several programmes in one call (``program_ids``), on the merchant's bill ``bill_ref``."""
        body: dict[str, Any] = {
            "code": code,
            "program_ids": [p["id"] for p in programs],
            "amount_fen": amount_fen,
        }
        if bill_ref is not None:
            body["bill_ref"] = bill_ref
        r = await self.client.post(
            "/api/v1/redemptions",
            json=body,
            headers={**shop.headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code in (201, 400, 403, 409, 422), r.text
        return r.status_code, dict(r.json())

    async def bill(self, shop: Shop, bill_ref: str) -> list[str]:
        """The programmes live on the merchant's bill, as its ledger lists them."""
        r = await self.client.get(
            "/api/v1/redemptions", params={"bill_ref": bill_ref}, headers=shop.headers
        )
        assert r.status_code == 200, r.text
        return sorted(i["program_id"] for i in r.json()["items"] if not i["reversed"])

    async def simulate(
        self, who: Person, shop: Shop, program: dict[str, Any], amount_fen: int = 10000
    ) -> tuple[str, list[str]]:
        """The staff simulator at ``shop``'s store for one programme: ``("ok", [])``, or the
        refusal's code and the reasons staff are told."""
        r = await self.client.post(
            "/api/v1/programs/simulate",
            json={
                "member_id": who.id,
                "merchant": {"store_id": shop.store_id, "merchant_id": shop.merchant_id},
                "program_ids": [program["id"]],
                "amount_fen": amount_fen,
            },
        )
        assert r.status_code == 200, r.text
        (row,) = r.json()["members"]
        if row["applicable"]:
            return "ok", []
        (no,) = row["not_applicable"]
        return str(no["error_code"]), [x["code"] for x in no["reasons"]]

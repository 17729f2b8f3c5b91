"""Everything through the APIs staff and terminals use: orgs, members and their printed-card
codes, merchants, stores and terminals, programmes, then scans, redemptions and simulations.

No engine input is built by hand: members, stores and programmes are made over HTTP by a
signed-in staff member (the demo's ``admin``, federation administrator at the province), the
member's code is the static token of a printed card (as a card printer gets it), and the
terminal authenticates with the key its store was issued.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from stdnum.cn import ric

from tests.support.staff import login

Client = AsyncTestClient[Litestar]

# Valid unified social credit codes (check characters included) not used by the demo.
USCCS = ("91420502MA4TEXT011", "91420503MA4TEXT02J")
_SERIAL = itertools.count(1)


def resident_id(region: str, serial: int) -> str:
    """A valid 18-digit ID number (born 1979-1980, so old enough for any age rule)."""
    body = f"{region}19{79 + serial // 900}0{1 + serial % 9}1{serial % 9 + 1}{serial % 900:03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 characters


@dataclass
class FrontDoor:
    client: Client
    orgs: dict[str, dict[str, Any]] = field(default_factory=dict)
    programs: dict[str, str] = field(default_factory=dict)  # code → id, made here

    async def sign_in(self, username: str = "admin") -> FrontDoor:
        await login(self.client, username)
        r = await self.client.get("/api/v1/orgs", params={"limit": 200})
        assert r.status_code == 200, r.text
        self.orgs = {o["code"]: o for o in r.json()["items"]}
        return self

    def org_id(self, code: str) -> str:
        return str(self.orgs[code]["id"])

    async def member(self, union: str, region_code: str | None = None) -> dict[str, Any]:
        """An active member of the union with code ``union``, with a printed card's code."""
        for _ in range(20):
            body: dict[str, Any] = {
                "name": "测试会员",
                "id_number": resident_id("420581", next(_SERIAL)),
                "org_id": self.org_id(union),
            }
            if region_code is not None:
                body["region_code"] = region_code
            r = await self.client.post("/api/v1/members", json=body)
            if r.status_code != 409:  # an ID number the demo already has: take the next
                break
        assert r.status_code == 201, r.text
        member = r.json()
        member["code"] = await self.card_code(member["id"])
        return member

    async def card_code(self, member_id: str) -> str:
        cards = f"/api/v1/members/{member_id}/cards"
        r = await self.client.get(cards)
        assert r.status_code == 200, r.text
        current = r.json()["current"]
        if current is None:
            r = await self.client.post(cards, json={"reason": "测试发卡"})
            assert r.status_code in (200, 201), r.text
            current = r.json()
        r = await self.client.post(f"{cards}/{current['id']}/static-token")
        assert r.status_code in (200, 201), r.text
        return str(r.json()["text"])

    async def merchant(self, uscc: str, category: str, region: str) -> dict[str, Any]:
        r = await self.client.post(
            "/api/v1/merchants",
            json={
                "org_id": self.org_id("HB-YC"),
                "legal_name": f"宜昌测试商户{uscc[-4:]}",
                "display_name": f"测试商户{uscc[-4:]}",
                "uscc": uscc,
                "category": category,
                "region": region,
                "contact_name": "王师傅",
                "contact_phone": "13907179999",
            },
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    async def store(self, merchant_id: str, name: str, region: str) -> dict[str, Any]:
        """A store and its terminal: the store's JSON with the terminal's key as ``key``."""
        r = await self.client.post(
            f"/api/v1/merchants/{merchant_id}/stores",
            json={"name": name, "address": f"{name} 1 号", "region": region},
        )
        assert r.status_code == 201, r.text
        store = dict(r.json())
        r = await self.client.post(
            f"/api/v1/stores/{store['id']}/terminals", json={"name": "1 号收银台"}
        )
        assert r.status_code == 201, r.text
        store["key"] = r.json()["key"]
        return store

    async def programme(self, code: str, owner: str = "HB", **rules: Any) -> dict[str, Any]:
        """A published programme owned by the org with code ``owner``."""
        body: dict[str, Any] = {
            "name": f"测试项目 {code}",
            "benefit": {"kind": "amount_off", "off_fen": 500},
            "scope": {"merchant_categories": ["dining", "cinema"]},
            "limits": [],
        }
        body.update(rules)
        r = await self.client.post(
            "/api/v1/programs/",
            json={"code": code, "owner_org_id": self.org_id(owner), "rules": body},
        )
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        r = await self.client.post(f"/api/v1/programs/{pid}/publish")
        assert r.status_code == 200, r.text
        self.programs[code] = str(pid)
        return dict(r.json())

    async def scan(self, key: str, code: str, amount_fen: int = 10_000) -> Any:
        return await self.client.post(
            "/api/v1/scans",
            json={"code": code, "amount_fen": amount_fen},
            headers={"Authorization": f"Bearer {key}"},
        )

    async def offered(self, key: str, code: str, amount_fen: int = 10_000) -> set[str]:
        """The programme codes a terminal's scan offers."""
        r = await self.scan(key, code, amount_fen)
        assert r.status_code == 200, r.text
        return {b["program_code"] for b in r.json()["benefits"]}

    async def redeem(self, key: str, code: str, program_id: str, amount_fen: int = 10_000) -> Any:
        return await self.client.post(
            "/api/v1/redemptions",
            json={"code": code, "program_id": program_id, "amount_fen": amount_fen},
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
        )

    async def simulate(self, member_id: str, **body: Any) -> Any:
        body.setdefault("amount_fen", 10_000)
        return await self.client.post(
            "/api/v1/programs/simulate", json={"member_id": member_id, **body}
        )

    async def simulated(self, member_id: str, **body: Any) -> set[str]:
        """The programme codes the staff simulator says apply (published ones only)."""
        r = await self.simulate(member_id, **body)
        assert r.status_code == 200, r.text
        (row,) = r.json()["members"]
        return {a["code"] for a in row["applicable"] if a["status"] == "active"}

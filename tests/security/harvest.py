"""Real ids of the demo federation, by path parameter name, read through the staff API.

Both the contract test (to reach past "not found" into the handlers) and the access sweep (to
ask for another tenant's objects) need them.
"""

from __future__ import annotations

from typing import Any

from tests.security.conftest import Caller, Client


def _items(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for key in ("items", "cards", "data", "results"):
            if isinstance(body.get(key), list):
                return [x for x in body[key] if isinstance(x, dict)]
        return [body]
    if isinstance(body, list):
        return [x for x in body if isinstance(x, dict)]
    return []


async def _ids(client: Client, caller: Caller, url: str, **params: Any) -> list[str]:
    r = await client.get(url, headers=caller.headers(mutation=False), params=params)
    assert r.status_code == 200, f"{url}: {r.status_code} {r.text[:300]}"
    return [str(x["id"]) for x in _items(r.json()) if "id" in x]


async def harvest(client: Client, admin: Caller) -> dict[str, list[str]]:
    """Path parameter name → ids that exist (federation admin sees the whole tree)."""
    pool: dict[str, list[str]] = {}
    pool["org_id"] = await _ids(client, admin, "/api/v1/orgs")
    pool["member_id"] = await _ids(client, admin, "/api/v1/members", limit=50)
    pool["merchant_id"] = await _ids(client, admin, "/api/v1/merchants")
    pool["program_id"] = await _ids(client, admin, "/api/v1/programs")
    pool["app_id"] = await _ids(client, admin, "/api/v1/approvals/applications")
    pool["transfer_id"] = await _ids(client, admin, "/api/v1/approvals/transfers")
    pool["import_id"] = await _ids(client, admin, "/api/v1/roster/imports")
    pool["store_id"] = []
    for mid in pool["merchant_id"][:4]:
        pool["store_id"] += await _ids(client, admin, f"/api/v1/merchants/{mid}/stores")
    pool["terminal_id"] = []
    for sid in pool["store_id"][:4]:
        pool["terminal_id"] += await _ids(client, admin, f"/api/v1/stores/{sid}/terminals")
    pool["card_id"] = []
    for mid in pool["member_id"]:
        if len(pool["card_id"]) >= 6:
            break
        pool["card_id"] += await _ids(client, admin, f"/api/v1/members/{mid}/cards")
    pool["invite_id"] = []
    for oid in pool["org_id"][:6]:
        pool["invite_id"] += await _ids(client, admin, f"/api/v1/orgs/{oid}/invites")
    return {k: v for k, v in pool.items() if v}

"""Activities made and joined through their own APIs, for API and browser tests: times
around the real now (the routes read the real clock), an activity published through the staff
API, and the demo members' phones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient

URL = "/api/v1/activities"
ME = "/api/v1/me/activities"


def iso(at: datetime) -> str:
    return at.isoformat()


def activity_body(org_id: str, **kw: Any) -> dict[str, Any]:
    """Sign-up open now, the activity an hour from now (check-in is already open)."""
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "org_id": org_id,
        "kind": "activity",
        "title": "职工羽毛球赛",
        "description": "以球会友，欢迎报名。",
        "starts_at": iso(now + timedelta(hours=1)),
        "ends_at": iso(now + timedelta(hours=3)),
        "place": "宜昌市体育馆",
        "capacity": 2,
        "signup_opens_at": iso(now - timedelta(hours=1)),
        "signup_closes_at": iso(now + timedelta(minutes=50)),
        "cancel_deadline": iso(now + timedelta(minutes=40)),
        "cost_fen": 5000,
        "subsidy_fen": 3000,
    }
    body.update(kw)
    return body


async def org_id(staff: AsyncTestClient, code: str) -> str:
    resp = await staff.get("/api/v1/orgs", params={"q": code})
    assert resp.status_code == 200, resp.text
    found = [o for o in resp.json()["items"] if o["code"] == code]
    assert found, code
    return str(found[0]["id"])


async def publish(staff: AsyncTestClient, org: str, **kw: Any) -> dict[str, Any]:
    resp = await staff.post(URL, json=activity_body(org, **kw))
    assert resp.status_code == 201, resp.text
    return resp.json()


def phones(demo: dict[str, Any], union: str | None = None) -> list[str]:
    return [m["phone"] for m in demo["members"] if union is None or m["union"] == union]

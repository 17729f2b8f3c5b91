"""Hardship, and the other member categories that unlock programmes, come from staff and never
from the member's own application; hardship only from a hardship record approved one level
above the member's union. Driven over HTTP as applicants, staff and terminals do (both
databases): a join application may not declare them, a grassroots admin may not set hardship,
a roster import proposes a pending record instead of setting it, the approval one level up
makes a hardship-only programme (made through the staff API) show at the terminal's scan, and
the record's expiry (the service sweep job) takes it away again."""

from __future__ import annotations

import asyncio
import io
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from stdnum.cn import ric

from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.db import make_sessionmaker
from cardsvc.kernel.settings import Settings
from cardsvc.orgs.models import Org
from cardsvc.roster.columns import COLUMNS
from cardsvc.servicereq.sweep import sweep_once
from tests.cardsvc.membership.test_membership import (
    NEW_PHONE,
    _org_id,
    application,
    member_client,
)
from tests.support.pos import make_pos
from tests.support.staff import login

Client = AsyncTestClient[Litestar]
MEMBERS = "/api/v1/members"
RECORDS = "/api/v1/hardship/records"


async def _org_ids(engine: AsyncEngine) -> dict[str, uuid.UUID]:
    async with make_sessionmaker(engine)() as s:
        return {o.code: o.id for o in await s.scalars(select(Org))}


async def _member_without_hardship(client: Client, org_id: uuid.UUID, nth: int = 0) -> dict:
    page = await client.get(MEMBERS, params={"org_id": str(org_id), "status": "active"})
    assert page.status_code == 200, page.text
    plain = [m for m in page.json()["items"] if "hardship" not in m["categories"]]
    return plain[nth]


async def test_join_application_may_not_declare_categories_or_hardship(
    settings: Settings, client: Client, demo: Any
) -> None:
    async with AsyncExitStack() as stack:
        worker = await stack.enter_async_context(member_client(settings, NEW_PHONE))
        org_id = await _org_id(worker, "XL-NEWFORMS")
        for extra, field in (
            ({"hardship_level": 3}, "hardship_level"),
            ({"categories": ["hardship"]}, "categories"),
            ({"categories": ["model_worker"]}, "categories"),
        ):
            resp = await worker.post("/api/v1/me/applications", json=application(org_id, **extra))
            assert resp.status_code == 400, resp.text
            body = resp.json()
            assert body["code"] == "validation_error" and body["errors"][0]["field"] == field
            assert body["errors"][0]["reason"] == "不接受该字段"
        # Without them the same application goes through, and approval sets no category.
        resp = await worker.post("/api/v1/me/applications", json=application(org_id))
        assert resp.status_code == 201, resp.text
        assert "categories" not in resp.json()
        await login(client, "xl.admin")
        ok = await client.post(f"/api/v1/approvals/applications/{resp.json()['id']}/approve")
        assert ok.status_code == 200, ok.text
        found = await client.get(MEMBERS, params={"member_no": ok.json()["member_no"]})
        (member,) = found.json()["items"]
        assert member["categories"] == [] and member["hardship_level"] is None


async def test_staff_may_not_set_hardship_directly(
    client: Client, engine: AsyncEngine, demo: Any
) -> None:
    orgs = await _org_ids(engine)
    await login(client, "xl.jidian")  # the member's grassroots union
    m = await _member_without_hardship(client, orgs["XL-JIDIAN"])
    for body, field in (
        ({"categories": ["hardship"], "hardship_level": 2}, "hardship_level"),
        ({"hardship_level": 2}, "hardship_level"),
        ({"categories": [*m["categories"], "hardship"]}, "categories"),
    ):
        resp = await client.patch(f"{MEMBERS}/{m['id']}", json=body)
        assert resp.status_code == 422, resp.text
        problem = resp.json()
        assert problem["code"] == "hardship_needs_record"
        assert problem["errors"][0]["field"] == field
        assert (
            "困难职工建档" in problem["message_zh"] and "hardship/records" in problem["message_en"]
        )
    after = (await client.get(f"{MEMBERS}/{m['id']}")).json()
    assert "hardship" not in after["categories"] and after["hardship_level"] is None
    # Registering a member in hardship directly is refused the same way.
    resp = await client.post(
        MEMBERS,
        json={
            "name": "李困难",
            "id_number": "42050219900101123" + ric.calc_check_digit("420502199001011230"),
            "org_id": str(orgs["XL-JIDIAN"]),
            "categories": ["hardship"],
            "hardship_level": 3,
        },
    )
    assert resp.status_code == 422 and resp.json()["code"] == "hardship_needs_record"


async def test_staff_set_model_worker_with_an_audit_row_and_keep_hardship_as_recorded(
    client: Client, engine: AsyncEngine, demo: Any
) -> None:
    orgs = await _org_ids(engine)
    await login(client, "xl.admin")
    m = await _member_without_hardship(client, orgs["XL-JIDIAN"])
    resp = await client.patch(f"{MEMBERS}/{m['id']}", json={"categories": ["model_worker"]})
    assert resp.status_code == 200, resp.text
    assert resp.json()["categories"] == ["model_worker"]
    await login(client, "admin")
    audit = await client.get("/api/v1/audit", params={"target_id": m["id"], "limit": 50})
    (entry,) = [e for e in audit.json()["items"] if e["action"] == "member.update"]
    assert entry["summary"]["categories_before"] == sorted(m["categories"])
    assert entry["summary"]["categories_after"] == ["model_worker"]
    # A member in hardship (by an approved record) keeps it through a category edit, and
    # dropping it there is refused: the record is revoked instead.
    await login(client, "xl.admin")
    page = await client.get(MEMBERS, params={"org_id": str(orgs["HB-YC-XL"]), "limit": 200})
    poor = next(x for x in page.json()["items"] if "hardship" in x["categories"])
    kept = await client.patch(
        f"{MEMBERS}/{poor['id']}", json={"categories": ["hardship", "model_worker"]}
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["categories"] == ["hardship", "model_worker"]
    assert kept.json()["hardship_level"] == poor["hardship_level"]
    dropped = await client.patch(f"{MEMBERS}/{poor['id']}", json={"categories": []})
    assert dropped.status_code == 422 and dropped.json()["code"] == "hardship_needs_record"


def _roster(tmp_path: Path, rows: list[dict[str, Any]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "会员名册"
    ws.append([c.header for c in COLUMNS])
    for r in rows:
        ws.append([r.get(c.key, "") for c in COLUMNS])
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    return path.read_bytes()


async def _import(client: Client, runner: JobRunner, content: bytes) -> dict[str, Any]:
    resp = await client.post(
        "/api/v1/roster/imports",
        files={"file": ("roster.xlsx", io.BytesIO(content))},
        data={"dry_run": "false"},
    )
    assert resp.status_code == 202, resp.text
    for _ in range(200):  # the app's own runner may take the job as well
        await runner.run_once()
        job = await client.get(f"/api/v1/roster/imports/{resp.json()['id']}")
        assert job.status_code == 200, job.text
        if job.json()["status"] in ("succeeded", "failed", "cancelled"):
            return job.json()
        await asyncio.sleep(0.1)
    raise AssertionError(job.text)


async def _offered(client: Client, pos: Any, member_id: str, terminal: dict[str, Any]) -> set:
    r = await client.post(
        "/api/v1/scans",
        json={"code": await pos.code(uuid.UUID(member_id))},
        headers=pos.headers(terminal),
    )
    assert r.status_code == 200, r.text
    return {b["program_code"] for b in r.json()["benefits"]}


async def _hardship_programme(client: Client, owner: uuid.UUID) -> None:
    """A programme only members in hardship may use, made as a benefits manager does."""
    await login(client, "yc.benefits")
    rules = {
        "name": "困难职工购物补贴",
        "benefit": {"kind": "percent_off", "basis_points": 2000},
        "eligibility": {"categories_any": ["hardship"]},
        "scope": {"merchant_categories": ["retail"]},
        "limits": [],
    }
    made = await client.post(
        "/api/v1/programs", json={"code": "T-HARDSHIP", "owner_org_id": str(owner), "rules": rules}
    )
    assert made.status_code == 201, made.text
    published = await client.post(f"/api/v1/programs/{made.json()['id']}/publish")
    assert published.status_code == 200, published.text


async def test_roster_proposes_records_the_level_above_approves_and_expiry_clears(
    client: Client,
    app: Litestar,
    engine: AsyncEngine,
    settings: Settings,
    demo: dict[str, Any],
    tmp_path: Path,
) -> None:
    orgs = await _org_ids(engine)
    pos = await make_pos(engine, app, demo, n=1)
    shop = next(t for t in demo["terminals"] if t["category"] == "retail")
    await _hardship_programme(client, orgs["HB-YC"])

    # The grassroots union's roster marks one of its members 困难职工, level 2.
    await login(client, "xl.admin")
    m = await _member_without_hardship(client, orgs["XL-JIDIAN"])
    ident = (await client.post(f"{MEMBERS}/{m['id']}/identity")).json()
    assert "T-HARDSHIP" not in await _offered(client, pos, m["id"], shop)
    await login(client, "xl.jidian")
    row = {
        "name": m["name"],
        "id_number": ident["id_number"],
        "union_code": "XL-JIDIAN",
        "categories": "困难职工",
        "hardship_level": "2",
    }
    runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    job = await _import(client, runner, _roster(tmp_path, [row]))
    assert job["status"] == "succeeded", job
    assert job["counts"]["hardship_proposed"] == 1 and job["counts"]["error_rows"] == 0

    # Proposed, not set: the member is not in hardship and the programme is not offered.
    member = (await client.get(f"{MEMBERS}/{m['id']}")).json()
    assert "hardship" not in member["categories"] and member["hardship_level"] is None
    assert "T-HARDSHIP" not in await _offered(client, pos, m["id"], shop)
    (rec,) = (await client.get(RECORDS, params={"member_id": m["id"]})).json()["items"]
    assert (rec["status"], rec["level"], rec["approver_org"]) == ("pending", 2, "西陵区总工会")
    # The member's own union does not decide; the union one level above does.
    refused = await client.post(f"{RECORDS}/{rec['id']}/approve", json={})
    assert (refused.status_code, refused.json()["code"]) == (403, "hardship_wrong_level")
    await login(client, "xl.admin")
    ok = await client.post(f"{RECORDS}/{rec['id']}/approve", json={"category": "deep"})
    assert ok.status_code == 200, ok.text
    assert (ok.json()["status"], ok.json()["category"]) == ("approved", "deep")
    member = (await client.get(f"{MEMBERS}/{m['id']}")).json()
    assert "hardship" in member["categories"] and member["hardship_level"] == 2
    assert "T-HARDSHIP" in await _offered(client, pos, m["id"], shop)

    # Not reviewed by its review date: the sweep job expires it and the programme goes.
    review_on = date.fromisoformat(ok.json()["review_on"])
    after = datetime(review_on.year, review_on.month, review_on.day, tzinfo=UTC) + timedelta(2)
    async with make_sessionmaker(engine)() as session, session.begin():
        assert (await sweep_once(session, settings, now=after))["hardship_expired"] >= 1
    rec_now = (await client.get(f"{RECORDS}/{rec['id']}")).json()
    assert rec_now["status"] == "expired"
    member = (await client.get(f"{MEMBERS}/{m['id']}")).json()
    assert "hardship" not in member["categories"] and member["hardship_level"] is None
    assert "T-HARDSHIP" not in await _offered(client, pos, m["id"], shop)

"""Write one validated batch: resolve unions, match existing members, insert and update.

A batch is one transaction with a fixed number of statements whatever its size: one lookup
of the unions not seen yet, one lookup of existing members by the ID number's keyed hash, one
block of member numbers, one multi-row insert, one executemany update, one insert of the row
errors; and, for the few rows that mark a member in hardship, the pending hardship records they
propose (three lookups, then an insert per record). In a dry run only the lookups run.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.sequences import allocate
from cardsvc.members.models import Category, Member, MemberIdentity, MemberStatus
from cardsvc.members.numbers import format_member_no
from cardsvc.orgs.models import Org, OrgLevel, OrgStatus
from cardsvc.roster.columns import HEADER_OF
from cardsvc.roster.models import RosterImportError
from cardsvc.roster.rows import CellError, ValidRow
from cardsvc.servicereq.hardship.proposals import Proposal
from cardsvc.servicereq.hardship.proposals import propose as propose_hardship

MEMBER_SEQUENCE = "member"
_UPDATABLE = (
    "name",
    "phone_enc",
    "phone_hash",
    "employment_type",
    "employer",
    "job",
    "categories",
    "joined_on",
    "status",
)


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: uuid.UUID
    code: str
    path: str
    level: OrgLevel
    status: OrgStatus
    region_code: str | None


@dataclass(slots=True)
class BatchScope:
    """What stays the same for every batch of one import."""

    actor: Principal
    root_path: str  # the subtree the import was started for
    today: date
    dry_run: bool
    orgs: dict[str, OrgInfo | None] = field(default_factory=dict)  # union code → org


@dataclass(slots=True)
class BatchOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    activated: list[uuid.UUID] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)


def _err(row: ValidRow, key: str, code: str, zh: str, en: str, value: str | None) -> CellError:
    return CellError(row.row_no, HEADER_OF[key], code, zh, en, value)


async def _resolve_orgs(session: AsyncSession, scope: BatchScope, codes: set[str]) -> None:
    missing = [c for c in codes if c not in scope.orgs]
    if not missing:
        return
    rows = await session.execute(
        select(Org.id, Org.code, Org.path, Org.level, Org.status, Org.region_code).where(
            Org.code.in_(missing)
        )
    )
    for r in rows:
        scope.orgs[r.code] = OrgInfo(r.id, r.code, r.path, r.level, r.status, r.region_code)
    for c in missing:
        scope.orgs.setdefault(c, None)


def _org_problem(scope: BatchScope, row: ValidRow) -> CellError | None:
    org = scope.orgs.get(row.union_code)
    code = row.union_code
    if org is None:
        return _err(
            row,
            "union_code",
            "unknown_union",
            f"未找到编码为 {code} 的工会",
            f"no union with code {code}",
            code,
        )
    if not org.path.startswith(scope.root_path) or not scope.actor.can(Perm.member_write, org.path):
        return _err(
            row,
            "union_code",
            "union_out_of_scope",
            f"工会 {code} 不在您的管辖范围内，无权导入",
            f"union {code} is outside your part of the union tree",
            code,
        )
    if org.level != OrgLevel.grassroots:
        return _err(
            row,
            "union_code",
            "not_grassroots",
            f"{code} 不是基层工会，会员只能加入基层工会",
            f"{code} is not a grassroots union; members join grassroots unions",
            code,
        )
    if org.status != OrgStatus.active:
        return _err(
            row,
            "union_code",
            "union_closed",
            f"工会 {code} 已撤销，不再接收会员",
            f"union {code} is closed",
            code,
        )
    return None


def _place_rows(
    scope: BatchScope, rows: list[ValidRow], out: BatchOutcome
) -> list[tuple[ValidRow, OrgInfo]]:
    """Each row with its union; rows whose union is missing or out of scope become errors."""
    placed: list[tuple[ValidRow, OrgInfo]] = []
    for r in rows:
        if problem := _org_problem(scope, r):
            out.errors.append(problem)
        else:
            org = scope.orgs[r.union_code]
            assert org is not None
            placed.append((r, org))
    return placed


async def _existing_members(
    session: AsyncSession, placed: list[tuple[ValidRow, OrgInfo]]
) -> dict[str, Any]:
    """The members already registered with the rows' ID numbers, by the number's hash."""
    if not placed:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # A lookup by a unique key: an index probe per key is always right, but a
        # member table that grew within this import has no statistics yet, and the
        # planner then scans the whole table for every batch (quadratic in the file).
        await session.execute(text("SET LOCAL enable_seqscan = off"))
    found = await session.execute(
        select(
            Member.id,
            Member.id_number_hash,
            Member.org_id,
            Member.org_path,
            Member.status,
            Member.name,
            Member.phone_enc,
            Member.phone_hash,
            Member.employment_type,
            Member.employer,
            Member.job,
            Member.categories,
            Member.joined_on,
        ).where(Member.id_number_hash.in_([r.id_hash for r, _ in placed]))
    )
    existing = {m.id_number_hash: m for m in found}
    if postgres:
        await session.execute(text("SET LOCAL enable_seqscan TO DEFAULT"))
    return existing


def _update_problem(scope: BatchScope, r: ValidRow, org: OrgInfo, m: Any) -> CellError | None:
    """Why the row may not update the existing member ``m``, if it may not."""
    if not scope.actor.can(Perm.member_write, m.org_path) or not m.org_path.startswith(
        scope.root_path
    ):
        return _err(
            r,
            "id_number",
            "member_elsewhere",
            "该身份证号已在您管辖范围以外的工会登记为会员，请联系对方工会办理转会",
            "this person is a member of a union outside your scope; ask for a transfer",
            None,
        )
    if m.org_id != org.id:
        current = next((o.code for o in scope.orgs.values() if o and o.id == m.org_id), None)
        return _err(
            r,
            "union_code",
            "member_in_other_union",
            f"该会员已属于其他工会{f'({current})' if current else ''}，调整所属工会请办理转会",
            "the member belongs to another union; change unions by a transfer",
            r.union_code,
        )
    if m.status == MemberStatus.left:
        return _err(
            r,
            "id_number",
            "member_left",
            "该会员已退会，重新入会请提交入会申请",
            "the member has left; rejoining goes through a join application",
            None,
        )
    return None


def _merged(scope: BatchScope, r: ValidRow, m: Any) -> dict[str, Any]:
    """The updatable fields of ``m`` after the row: blank cells keep what is there."""
    return {
        "name": r.name,
        "phone_enc": r.phone_enc if r.phone_hash and r.phone_hash != m.phone_hash else m.phone_enc,
        "phone_hash": r.phone_hash or m.phone_hash,
        "employment_type": r.employment_type or m.employment_type,
        "employer": r.employer or m.employer,
        "job": r.job or m.job,
        "categories": _categories(r, m),
        "joined_on": r.joined_on or m.joined_on or scope.today,
        "status": MemberStatus.active if m.status == MemberStatus.pending else m.status,
    }


def _categories(r: ValidRow, m: Any) -> list[str]:
    """The row's categories replace the member's, but hardship stays as its record made it."""
    now = list(m.categories or [])
    if r.categories is None:
        return now
    kept = [Category.hardship.value] if Category.hardship.value in now else []
    return sorted({*r.categories, *kept})


def _match_rows(
    scope: BatchScope,
    placed: list[tuple[ValidRow, OrgInfo]],
    existing: dict[str, Any],
    out: BatchOutcome,
) -> tuple[list[tuple[ValidRow, OrgInfo]], list[dict[str, Any]]]:
    """Split the placed rows into new members and the update parameters of existing ones."""
    new_rows: list[tuple[ValidRow, OrgInfo]] = []
    updates: list[dict[str, Any]] = []
    for r, org in placed:
        m = existing.get(r.id_hash)
        if m is None:
            new_rows.append((r, org))
            continue
        if problem := _update_problem(scope, r, org, m):
            out.errors.append(problem)
            continue
        after = _merged(scope, r, m)
        before = {k: getattr(m, k) for k in _UPDATABLE}
        before["categories"] = list(before["categories"] or [])
        if after == before:
            out.counts["unchanged"] += 1
            continue
        out.counts["updated"] += 1
        if m.status == MemberStatus.pending:
            out.counts["activated"] += 1
            out.activated.append(m.id)
        updates.append({"b_id": m.id, **{f"b_{k}": v for k, v in after.items()}})
    return new_rows, updates


async def _new_member_values(
    session: AsyncSession,
    scope: BatchScope,
    new_rows: list[tuple[ValidRow, OrgInfo]],
    out: BatchOutcome,
) -> list[dict[str, Any]]:
    """The insert values of the new members, with a block of member numbers."""
    numbers = await allocate(session, MEMBER_SEQUENCE, count=len(new_rows))
    ts = utc_now()
    values = []
    for (r, org), seq in zip(new_rows, numbers, strict=True):
        member_id = uuid7()
        out.activated.append(member_id)
        values.append(
            {
                "id": member_id,
                "member_no": format_member_no(seq),
                "name": r.name,
                "id_number_enc": r.id_enc,
                "id_number_hash": r.id_hash,
                "phone_enc": r.phone_enc,
                "phone_hash": r.phone_hash,
                "data_key_id": r.id_enc.partition(".")[0],
                "birth_date": r.birth_date,
                "gender": r.gender,
                "org_id": org.id,
                "org_path": org.path,
                "status": MemberStatus.active.value,
                "status_reason": None,
                "categories": r.categories or [],
                "hardship_level": None,
                "employment_type": r.employment_type,
                "employer": r.employer,
                "job": r.job,
                "region_code": r.region_code or org.region_code,
                "joined_on": r.joined_on or scope.today,
                "extra": {},
                "created_at": ts,
                "updated_at": ts,
            }
        )
    return values


async def _update_members(session: AsyncSession, updates: list[dict[str, Any]]) -> None:
    table = Member.__table__
    stmt = (
        update(table)  # type: ignore[arg-type]
        .where(table.c.id == bindparam("b_id"))
        .values({**{k: bindparam(f"b_{k}") for k in _UPDATABLE}, "updated_at": utc_now()})
    )
    await session.execute(stmt, updates)


async def apply_batch(
    session: AsyncSession, scope: BatchScope, rows: list[ValidRow]
) -> BatchOutcome:
    out = BatchOutcome()
    await _resolve_orgs(session, scope, {r.union_code for r in rows})
    placed = _place_rows(scope, rows, out)
    existing = await _existing_members(session, placed)
    new_rows, updates = _match_rows(scope, placed, existing, out)
    out.counts["created"] += len(new_rows)
    if scope.dry_run:
        out.counts["hardship_proposed"] += sum(1 for r, _ in placed if r.hardship_level)
        return out
    member_ids = {m.id_number_hash: (m.id, m.status) for m in existing.values()}
    if new_rows:
        values = await _new_member_values(session, scope, new_rows, out)
        await insert_members(session, values)
        member_ids |= {v["id_number_hash"]: (v["id"], MemberStatus.active) for v in values}
    if updates:
        await _update_members(session, updates)
    await _propose_hardship(session, scope, placed, member_ids, out)
    return out


async def _propose_hardship(
    session: AsyncSession,
    scope: BatchScope,
    placed: list[tuple[ValidRow, OrgInfo]],
    member_ids: dict[str, tuple[uuid.UUID, MemberStatus]],
    out: BatchOutcome,
) -> None:
    """Rows with a hardship level propose a pending hardship record, for the union one level
    above to approve; the member's hardship category and level come only from that."""
    refused = {e.row_no for e in out.errors}
    proposals = []
    for r, org in placed:
        if not r.hardship_level or r.row_no in refused:
            continue
        member_id, status = member_ids[r.id_hash]
        if status in (MemberStatus.active, MemberStatus.pending):  # pending rows activate
            source = f"名册导入第 {r.row_no} 行"
            proposals.append(Proposal(member_id, org.id, r.hardship_level, source))
    done = await propose_hardship(session, scope.actor, proposals, now=utc_now())
    out.counts["hardship_proposed"] += done.created


async def insert_members(session: AsyncSession, values: list[dict[str, Any]]) -> None:
    """One multi-row write: ``COPY`` on PostgreSQL (several times cheaper than INSERT for
    the server as well as the client), an executemany INSERT elsewhere. The members' identity
    rows go first: a second membership of one person fails there, before any member is written.
    """
    identities = [{"id_number_hash": v["id_number_hash"], "member_id": v["id"]} for v in values]
    await session.execute(insert(MemberIdentity.__table__), identities)  # type: ignore[arg-type]
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(Member.__table__), values)  # type: ignore[arg-type]
        return
    columns = list(values[0])
    as_json = {"categories", "extra"}
    records = [tuple(json.dumps(v[c]) if c in as_json else v[c] for c in columns) for v in values]
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
        Member.__tablename__, records=records, columns=columns
    )


async def save_errors(session: AsyncSession, job_id: uuid.UUID, errors: list[CellError]) -> None:
    if errors:
        await session.execute(
            insert(RosterImportError.__table__),  # type: ignore[arg-type]
            [
                {
                    "id": uuid7(),
                    "job_id": job_id,
                    "row_no": e.row_no,
                    "column": e.column,
                    "code": e.code,
                    "reason_zh": e.reason_zh[:255],
                    "reason_en": e.reason_en[:255],
                    "value": e.value[:128] if e.value else None,
                }
                for e in errors
            ],
        )

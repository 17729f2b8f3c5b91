"""Programme lifecycle: drafts, publishing versions, pause / resume / end, listing.

``draft → active ⇄ paused → ended``; a draft may also be ended (discarded). Publishing turns the
working rules into an immutable version. Editing an active or paused programme validates the
new rules as for publishing and publishes them at once as the next version; members and merchants
always see a published version, never a half-edited one. An ended programme cannot change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, false, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from uuid_utils.compat import uuid7 as _new_id

from benefits.engine.results import ProgramView, VersionView
from benefits.engine.txn import Db, as_utc, read_connection, write_transaction
from benefits.engine.versions import forget_live_programs
from benefits.errors import FieldError, InvalidTransition, NotFound, ValidationError
from benefits.models import Program, ProgramStatus, ProgramVersion
from benefits.rules.programme import ProgramRules, rules_to_json
from benefits.rules.validation import parse_rules

# Declarative models map a Table; SQLAlchemy types ``__table__`` as the wider FromClause.
_P = cast(Table, Program.__table__)
_V = cast(Table, ProgramVersion.__table__)
_MAX_VERSION = 2**31 - 1  # version numbers are a 32-bit INTEGER column
_CODE_RE = re.compile(r"^[A-Za-z0-9_\-]{2,32}$")

_TRANSITIONS: dict[str, tuple[set[ProgramStatus], ProgramStatus]] = {
    "pause": ({ProgramStatus.active}, ProgramStatus.paused),
    "resume": ({ProgramStatus.paused}, ProgramStatus.active),
    "end": ({ProgramStatus.draft, ProgramStatus.active, ProgramStatus.paused}, ProgramStatus.ended),
}
_STATUS_ZH = {"draft": "草稿", "active": "进行中", "paused": "已暂停", "ended": "已结束"}


def validate_rules(rules: Any, *, for_publish: bool = False) -> ProgramRules:
    """Check rule JSON without saving it (staff "validate" button); raises ValidationError."""
    return parse_rules(rules, for_publish=for_publish)


def _view(row: Row[Any]) -> ProgramView:
    return ProgramView(
        id=row.id,
        code=row.code,
        name=row.name,
        owner_org_id=row.owner_org_id,
        owner_org_path=row.owner_org_path,
        status=str(row.status),
        version_number=row.version_number,
        current_version_id=row.current_version_id,
        priority=row.priority,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        timezone=row.timezone,
        rules=row.rules,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _mirror(rules: ProgramRules) -> dict[str, Any]:
    """Program-row copies of the rules, for listing without parsing JSON."""
    return {
        "name": rules.name,
        "priority": rules.priority,
        "valid_from": rules.valid_from,
        "valid_until": rules.valid_until,
        "timezone": rules.timezone,
        "rules": rules_to_json(rules),
    }


async def _get_row(conn: AsyncConnection, program_id: uuid.UUID, *, lock: bool = False) -> Row[Any]:
    stmt = select(_P).where(_P.c.id == program_id)
    if lock and conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise NotFound(
            message_zh="未找到该普惠项目",
            message_en="Programme not found",
            program_id=str(program_id),
        )
    return row


_ACTIONS = {
    "publish": ("发布", "published"),
    "edit": ("修改", "edited"),
    "pause": ("暂停", "paused"),
    "resume": ("恢复", "resumed"),
    "end": ("结束", "ended"),
}


def _transition_error(status: str, action: str) -> InvalidTransition:
    zh = _STATUS_ZH.get(status, status)
    verb_zh, verb_en = _ACTIONS[action]
    return InvalidTransition(
        message_zh=f"项目状态为“{zh}”，不能{verb_zh}",
        message_en=f"A programme that is {status} cannot be {verb_en}",
        errors=[FieldError("status", f"当前状态：{zh}", f"current status: {status}")],
        current_status=status,
        action=action,
    )


async def create_program(
    db: Db,
    *,
    code: str,
    owner_org_id: uuid.UUID,
    owner_org_path: str,
    rules: Any,
    actor_id: uuid.UUID | None = None,
) -> ProgramView:
    """A new draft owned by an org (it will apply to members of that org's subtree)."""
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise ValidationError.field(
            "code",
            "只能包含字母、数字、下划线和连字符（2–32 位）",
            "use 2–32 letters, digits, _ or -",
        )
    if not owner_org_path or not owner_org_path.endswith("/"):
        raise ValidationError.field(
            "owner_org_path", "组织路径无效", "must be an org path ending in /"
        )
    parsed = parse_rules(rules)
    code_taken = ValidationError.field(
        "code", "项目编码已被使用", "is already used by another programme"
    )
    try:
        async with write_transaction(db) as conn:
            if (await conn.execute(select(_P.c.id).where(_P.c.code == code))).first():
                raise code_taken
            now = as_utc(None)
            program_id = _new_id()
            await conn.execute(
                insert(_P).values(
                    id=program_id,
                    code=code,
                    owner_org_id=owner_org_id,
                    owner_org_path=owner_org_path,
                    status=ProgramStatus.draft,
                    version_number=0,
                    created_by=actor_id,
                    created_at=now,
                    updated_at=now,
                    status_changed_at=now,
                    **_mirror(parsed),
                )
            )
            return _view(await _get_row(conn, program_id))
    except IntegrityError:  # a concurrent create took the code between our check and insert
        raise code_taken from None


async def update_program(
    db: Db,
    *,
    program_id: uuid.UUID,
    rules: Any,
    actor_id: uuid.UUID | None = None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> ProgramView:
    """Edit the rules: a draft changes in place; an active/paused programme gets a new version.

    ``expected_version`` (the ``version_number`` the editor saw) turns a lost update into a
    conflict instead of silently overwriting someone else's edit.
    """
    async with write_transaction(db) as conn:
        row = await _get_row(conn, program_id, lock=True)
        if expected_version is not None and row.version_number != expected_version:
            raise InvalidTransition(
                message_zh="项目已被他人修改，请刷新后重试",
                message_en="The programme was changed meanwhile; reload and retry",
                code="version_conflict",
                errors=[FieldError("expected_version", "版本不一致", "does not match")],
                current_version=row.version_number,
            )
        status = ProgramStatus(row.status)
        if status is ProgramStatus.ended:
            raise _transition_error(status.value, "edit")
        if status is ProgramStatus.draft:
            parsed = parse_rules(rules)
            now = as_utc(at)
            await conn.execute(
                update(_P).where(_P.c.id == program_id).values(updated_at=now, **_mirror(parsed))
            )
            return _view(await _get_row(conn, program_id))
        return await _publish(conn, row, parse_rules(rules, for_publish=True), actor_id, at, status)


async def publish_program(
    db: Db, *, program_id: uuid.UUID, actor_id: uuid.UUID | None = None, at: datetime | None = None
) -> ProgramView:
    """Publish a draft as version 1 and make it active."""
    async with write_transaction(db) as conn:
        row = await _get_row(conn, program_id, lock=True)
        if row.status != ProgramStatus.draft:
            raise _transition_error(str(row.status), "publish")
        parsed = parse_rules(row.rules, for_publish=True)
        return await _publish(conn, row, parsed, actor_id, at, ProgramStatus.active)


async def _publish(
    conn: AsyncConnection,
    row: Row[Any],
    parsed: ProgramRules,
    actor_id: uuid.UUID | None,
    at: datetime | None,
    status: ProgramStatus,
) -> ProgramView:
    now = as_utc(at)
    version_id = _new_id()
    mirror = _mirror(parsed)
    # The status condition makes a concurrent end/publish lose cleanly instead of racing.
    number = (
        await conn.execute(
            update(_P)
            .where(_P.c.id == row.id, _P.c.status == row.status)
            .values(
                version_number=_P.c.version_number + 1,
                current_version_id=version_id,
                status=status,
                updated_at=now,
                status_changed_at=now if status != row.status else row.status_changed_at,
                **mirror,
            )
            .returning(_P.c.version_number)
        )
    ).scalar_one_or_none()
    if number is None:
        raise _transition_error(str(row.status), "publish")
    forget_live_programs()
    await conn.execute(
        insert(_V).values(
            id=version_id,
            program_id=row.id,
            number=number,
            rules=mirror["rules"],
            published_at=now,
            published_by=actor_id,
        )
    )
    return _view(await _get_row(conn, row.id))


async def _transition(
    db: Db, program_id: uuid.UUID, action: str, at: datetime | None
) -> ProgramView:
    allowed, target = _TRANSITIONS[action]
    async with write_transaction(db) as conn:
        now = as_utc(at)
        result = await conn.execute(
            update(_P)
            .where(_P.c.id == program_id, _P.c.status.in_([s.value for s in allowed]))
            .values(status=target, updated_at=now, status_changed_at=now)
            .returning(_P.c.id)
        )
        if result.first() is None:
            row = await _get_row(conn, program_id)
            raise _transition_error(str(row.status), action)
        forget_live_programs()
        return _view(await _get_row(conn, program_id))


async def pause_program(
    db: Db, *, program_id: uuid.UUID, at: datetime | None = None
) -> ProgramView:
    return await _transition(db, program_id, "pause", at)


async def resume_program(
    db: Db, *, program_id: uuid.UUID, at: datetime | None = None
) -> ProgramView:
    return await _transition(db, program_id, "resume", at)


async def end_program(db: Db, *, program_id: uuid.UUID, at: datetime | None = None) -> ProgramView:
    return await _transition(db, program_id, "end", at)


async def get_program(db: Db, *, program_id: uuid.UUID) -> ProgramView:
    async with read_connection(db) as conn:
        return _view(await _get_row(conn, program_id))


async def list_programs(
    db: Db,
    *,
    owner_path_prefix: str | None = None,
    owner_path_prefixes: Sequence[str] | None = None,
    member_org_path: str | None = None,
    status: str | list[str] | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ProgramView], int]:
    """Programmes and the total count for paging.

    ``owner_path_prefix``: owned by an org in that subtree (staff scoped to a subtree);
    ``owner_path_prefixes``: owned by an org in one of these subtrees (an empty list: none);
    ``member_org_path``: applying to a member at that path (owned by one of its ancestors);
    ``search``: code or name contains.
    """
    conds = []
    if owner_path_prefix:
        conds.append(_P.c.owner_org_path.startswith(owner_path_prefix, autoescape=True))
    if owner_path_prefixes is not None:
        conds.append(
            or_(*(_P.c.owner_org_path.startswith(p, autoescape=True) for p in owner_path_prefixes))
            if owner_path_prefixes
            else false()
        )
    if member_org_path:
        conds.append(literal(member_org_path).like(_P.c.owner_org_path + "%"))
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        conds.append(_P.c.status.in_(statuses))
    if search:
        conds.append(
            or_(
                _P.c.code.contains(search, autoescape=True),
                _P.c.name.contains(search, autoescape=True),
            )
        )
    async with read_connection(db) as conn:
        total = (
            await conn.execute(select(func.count()).select_from(_P).where(*conds))
        ).scalar_one()
        rows = await conn.execute(
            select(_P)
            .where(*conds)
            .order_by(_P.c.priority.desc(), _P.c.code)
            .limit(max(1, min(limit, 500)))
            .offset(max(0, offset))
        )
        return [_view(r) for r in rows], total


async def owner_paths(db: Db, program_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Owner org path of each programme (for scoping results that name many programmes)."""
    if not program_ids:
        return {}
    async with read_connection(db) as conn:
        rows = await conn.execute(
            select(_P.c.id, _P.c.owner_org_path).where(_P.c.id.in_(list(set(program_ids))))
        )
        return {r.id: r.owner_org_path for r in rows}


def _version_view(row: Row[Any]) -> VersionView:
    return VersionView(
        id=row.id,
        program_id=row.program_id,
        number=row.number,
        rules=row.rules,
        published_at=row.published_at,
        published_by=row.published_by,
    )


async def list_versions(db: Db, *, program_id: uuid.UUID) -> list[VersionView]:
    """Version history, newest first."""
    async with read_connection(db) as conn:
        await _get_row(conn, program_id)
        rows = await conn.execute(
            select(_V).where(_V.c.program_id == program_id).order_by(_V.c.number.desc())
        )
        return [_version_view(r) for r in rows]


async def get_version(db: Db, *, program_id: uuid.UUID, number: int) -> VersionView:
    async with read_connection(db) as conn:
        row = None
        # A number beyond the column's range cannot exist (and would overflow the driver).
        if 1 <= number <= _MAX_VERSION:
            row = (
                await conn.execute(
                    select(_V).where(_V.c.program_id == program_id, _V.c.number == number)
                )
            ).first()
        if row is None:
            raise NotFound(
                message_zh="未找到该版本",
                message_en="Version not found",
                program_id=str(program_id),
                number=number,
            )
        return _version_view(row)


async def program_names(db: Db, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Programmes' display names by id (for lines of the ledger shown to people)."""
    if not ids:
        return {}
    async with read_connection(db) as conn:
        rows = await conn.execute(select(Program.id, Program.name).where(Program.id.in_(list(ids))))
        return {r[0]: r[1] for r in rows}

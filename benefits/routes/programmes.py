"""HTTP: the staff programme API (thin controller).

Dependencies the host provides (see :mod:`benefits.plugin` and :mod:`benefits.access`):
``staff`` (the signed-in staff principal), ``db_session``, ``benefits_directory`` (org and
member lookups) and ``benefits_audit`` (audit log writer). Every staff mutation writes one audit
row in the request's transaction. The shapes are in :mod:`benefits.routes.schemas`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from litestar import Controller, get, patch, post
from litestar.openapi.spec import SecurityRequirement
from litestar.params import Parameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import (
    READ,
    WRITE,
    Audit,
    Directory,
    Forbidden,
    MemberRef,
    StaffPrincipal,
    ensure_readable,
    ensure_writable,
    program_not_found,
    read_prefixes,
)
from benefits.engine.txn import utc_now
from benefits.errors import FieldError, ValidationError, VersionImmutable, out_of_range
from benefits.models import ProgramStatus
from benefits.programmes.lifecycle import owner_paths
from benefits.programmes.simulation import (
    org_not_found,
    simulation_members,
    simulation_point_of_sale,
)
from benefits.public import (
    ProgramView,
    Quote,
    create_program,
    end_program,
    get_program,
    get_version,
    list_programs,
    list_versions,
    pause_program,
    program_usage,
    publish_program,
    resume_program,
    simulate,
    update_program,
    validate_rules,
)
from benefits.routes.schemas import (
    FieldErrorOut,
    ProgramDetail,
    ProgramIn,
    ProgramOut,
    ProgramPage,
    ProgramPatch,
    SimulateIn,
    SimulateOut,
    ValidateIn,
    ValidateOut,
    VersionOut,
    program_detail_out,
    program_out,
    simulation_out,
)
from benefits.rules.periods import within_range
from benefits.rules.programme import rules_to_json

STAFF: list[SecurityRequirement] = [{"staffSession": []}]
TARGET = "benefit_program"

MAX_OFFSET = 1_000_000_000  # past the driver's 64-bit integers it was a 500
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
Staff = SkipValidation[StaffPrincipal]
Dir = SkipValidation[Directory]
AuditLog = SkipValidation[Audit]


# Fields the engine names that are not inside the rule JSON.
_NOT_RULE_FIELDS = frozenset(
    {"rules", "code", "owner_org_id", "owner_org_path", "status", "expected_version", "new_version"}
)


def _rule_field(field: str) -> str:
    """An engine field path (relative to the rule JSON) as a path in the request body."""
    return field if re.split(r"[.\[]", field)[0] in _NOT_RULE_FIELDS else f"rules.{field}"


@contextmanager
def rules_in_body() -> Iterator[None]:
    """Name rule fields as they sit in the body (``rules.benefit.basis_points``)."""
    try:
        yield
    except ValidationError as exc:
        if not any(_rule_field(e.field) != e.field for e in exc.errors):
            raise
        raise ValidationError.from_fields(
            [FieldError(_rule_field(e.field), e.reason_zh, e.reason_en) for e in exc.errors]
        ) from None


async def _readable(db: AsyncSession, staff: StaffPrincipal, program_id: uuid.UUID) -> ProgramView:
    program = await get_program(db, program_id=program_id)
    ensure_readable(staff, program)
    return program


async def _writable(db: AsyncSession, staff: StaffPrincipal, program_id: uuid.UUID) -> ProgramView:
    program = await get_program(db, program_id=program_id)
    ensure_writable(staff, program)
    return program


class ProgramController(Controller):
    path = "/api/v1/programs"
    tags = ["staff: benefit programmes"]
    security = STAFF

    @get("/", summary="List programmes in my subtrees (filter by status, owner org, search)")
    async def index(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_directory: Dir,
        status: list[ProgramStatus] | None = None,
        owner_org_id: uuid.UUID | None = None,
        q: Annotated[str, Parameter(max_length=64)] | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ProgramPage:
        under = None
        if owner_org_id is not None:
            under = await benefits_directory.org_path(owner_org_id)
            if under is None:
                return ProgramPage([], 0, limit, offset)
        rows, total = await list_programs(
            db_session,
            owner_path_prefix=under,
            owner_path_prefixes=read_prefixes(staff),
            status=[s.value for s in status] if status else None,
            search=q.strip() if q and q.strip() else None,
            limit=limit,
            offset=offset,
        )
        return ProgramPage([program_out(p) for p in rows], total, limit, offset)

    @post("/", summary="Create a draft owned by an org in my subtree")
    async def create(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_directory: Dir,
        benefits_audit: AuditLog,
        data: ProgramIn,
    ) -> ProgramOut:
        path = await benefits_directory.org_path(data.owner_org_id)
        if path is None or not staff.can(READ, path):
            raise org_not_found("owner_org_id")
        if not staff.can(WRITE, path):
            raise Forbidden(
                message_zh="您在该组织只有查看权限",
                message_en="You may only view programmes of this org",
            )
        with rules_in_body():
            view = await create_program(
                db_session,
                code=data.code,
                owner_org_id=data.owner_org_id,
                owner_org_path=path,
                rules=data.rules,
                actor_id=staff.id,
            )
        benefits_audit(
            "program.create",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "name": view.name},
        )
        return program_out(view)

    @post("/validate", summary="Check rule JSON without saving (field errors)", status_code=200)
    async def validate(self, staff: Staff, data: ValidateIn) -> ValidateOut:
        if not staff.can(WRITE):
            raise Forbidden()
        try:
            with rules_in_body():
                parsed = validate_rules(data.rules, for_publish=data.for_publish)
        except ValidationError as exc:
            errors = [FieldErrorOut(e.field, e.reason_zh, e.reason_en) for e in exc.errors]
            return ValidateOut(False, errors, None)
        return ValidateOut(True, [], rules_to_json(parsed))

    @post(
        "/simulate",
        summary="Which programmes apply to a member (or a sample) here, and why not",
        status_code=200,
    )
    async def simulate(
        self, staff: Staff, db_session: AsyncSession, benefits_directory: Dir, data: SimulateIn
    ) -> SimulateOut:
        at = data.at or utc_now()
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValidationError.field("at", "必须带时区偏移", "must include a UTC offset")
        if not within_range(at):
            raise out_of_range("at")
        members = await simulation_members(
            staff,
            benefits_directory,
            member_id=data.member_id,
            member_no=data.member_no,
            org_id=data.org_id,
            sample=data.sample,
        )
        if data.program_ids is not None:
            paths = await owner_paths(db_session, data.program_ids)
            for pid in data.program_ids:
                if pid not in paths or not staff.can(READ, paths[pid]):
                    raise program_not_found(pid)
        m = data.merchant
        merchant = await simulation_point_of_sale(
            benefits_directory,
            merchant_id=m.merchant_id,
            store_id=m.store_id,
            category=m.category.value if m.category else None,
            region=m.region,
        )
        quotes = await simulate(
            db_session,
            members=[r.facts for r in members],
            merchant=merchant,
            amount_fen=data.amount_fen,
            units=data.units,
            at=at,
            program_ids=data.program_ids,
        )
        return await _simulation_out(db_session, staff, members, quotes, data, at)

    @get("/{program_id:uuid}", summary="One programme with its usage this period")
    async def detail(
        self,
        staff: Staff,
        db_session: AsyncSession,
        read_session: AsyncSession,
        program_id: uuid.UUID,
    ) -> ProgramDetail:
        p = await _readable(db_session, staff, program_id)  # as just edited: the primary
        u = await program_usage(read_session, program_id=program_id)
        return program_detail_out(p, u)

    @patch(
        "/{program_id:uuid}",
        summary="Edit the rules: a draft in place; a published programme as a new version",
    )
    async def update(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
        data: ProgramPatch,
    ) -> ProgramOut:
        current = await _writable(db_session, staff, program_id)
        published = current.status in (ProgramStatus.active, ProgramStatus.paused)
        if published and not data.new_version:
            raise VersionImmutable(
                errors=[
                    FieldError(
                        "new_version",
                        "已发布的版本不可直接修改；设置 new_version=true 以发布新版本",
                        "a published version cannot be edited in place; "
                        "set new_version=true to publish the edit as a new version",
                    )
                ],
                current_version=current.version_number,
            )
        expected = data.expected_version
        if expected is None and not data.new_version:
            # A draft published meanwhile must not go live through an in-place edit.
            expected = current.version_number
        with rules_in_body():
            view = await update_program(
                db_session,
                program_id=program_id,
                rules=data.rules,
                actor_id=staff.id,
                expected_version=expected,
            )
        benefits_audit(
            "program.update",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "status": view.status, "version": view.version_number},
        )
        return program_out(view)

    @post("/{program_id:uuid}/publish", summary="Publish a draft as version 1", status_code=200)
    async def publish(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        await _writable(db_session, staff, program_id)
        with rules_in_body():
            view = await publish_program(db_session, program_id=program_id, actor_id=staff.id)
        benefits_audit(
            "program.publish",
            TARGET,
            view.id,
            view.owner_org_path,
            {"code": view.code, "version": view.version_number},
        )
        return program_out(view)

    @post("/{program_id:uuid}/pause", summary="Pause an active programme", status_code=200)
    async def pause(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "pause")

    @post("/{program_id:uuid}/resume", summary="Resume a paused programme", status_code=200)
    async def resume(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "resume")

    @post("/{program_id:uuid}/end", summary="End a programme for good", status_code=200)
    async def end(
        self,
        staff: Staff,
        db_session: AsyncSession,
        benefits_audit: AuditLog,
        program_id: uuid.UUID,
    ) -> ProgramOut:
        return await _transition(staff, db_session, benefits_audit, program_id, "end")

    @get("/{program_id:uuid}/versions", summary="Version history, newest first")
    async def versions(
        self, staff: Staff, db_session: AsyncSession, program_id: uuid.UUID
    ) -> list[VersionOut]:
        await _readable(db_session, staff, program_id)
        return [
            VersionOut(v.id, v.number, v.published_at, v.published_by, v.rules)
            for v in await list_versions(db_session, program_id=program_id)
        ]

    @get("/{program_id:uuid}/versions/{number:int}", summary="One published version")
    async def version(
        self, staff: Staff, db_session: AsyncSession, program_id: uuid.UUID, number: int
    ) -> VersionOut:
        await _readable(db_session, staff, program_id)
        v = await get_version(db_session, program_id=program_id, number=number)
        return VersionOut(v.id, v.number, v.published_at, v.published_by, v.rules)


_TRANSITIONS = {"pause": pause_program, "resume": resume_program, "end": end_program}


async def _transition(
    staff: StaffPrincipal,
    db: AsyncSession,
    audit: Audit,
    program_id: uuid.UUID,
    action: str,
) -> ProgramOut:
    await _writable(db, staff, program_id)
    view = await _TRANSITIONS[action](db, program_id=program_id)
    audit(
        f"program.{action}",
        TARGET,
        view.id,
        view.owner_org_path,
        {"code": view.code, "status": view.status},
    )
    return program_out(view)


async def _simulation_out(
    db: AsyncSession,
    staff: StaffPrincipal,
    members: list[MemberRef],
    quotes: list[Quote],
    data: SimulateIn,
    at: datetime,
) -> SimulateOut:
    # Programmes owned above the staff's subtrees may apply to these members; they stay unseen.
    ids = {x.program_id for q in quotes for x in q.applicable} | {
        x.program_id for q in quotes for x in q.not_applicable
    }
    paths = await owner_paths(db, list(ids))
    visible = {pid for pid, path in paths.items() if staff.can(READ, path)}
    return simulation_out(members, quotes, visible, data, at)

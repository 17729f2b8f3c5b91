"""Members of a subtree to ``.xlsx``: masked unless the viewer may unmask and asks to; audited.

Rows are read in batches (``yield_per``) and written with openpyxl's write-only mode to a
temporary file, off the event loop, so memory stays flat whatever the subtree's size; the
route streams the file and deletes it. Every text cell goes through ``safe_cell``.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import anyio.to_thread
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.cells import safe_cell
from cardsvc.kernel.errors import Forbidden, NotFound
from cardsvc.kernel.masking import mask_id_number, mask_phone
from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.regions import full_name, province_code
from cardsvc.members.models import CATEGORY_LABELS_ZH, Category, Member, MemberStatus
from cardsvc.members.service import ID_FIELD, PHONE_FIELD
from cardsvc.orgs.models import Org
from cardsvc.reports.members import STATUS_LABELS
from cardsvc.roster.columns import EMPLOYMENT_LABELS_ZH

BATCH = 1000
HEADERS = (
    "会员号",
    "姓名",
    "身份证号",
    "手机号",
    "性别",
    "出生日期",
    "工会编码",
    "所属工会",
    "状态",
    "会员类别",
    "困难等级",
    "就业形态",
    "工作单位",
    "岗位",
    "地区",
    "入会日期",
)
GENDER = {"M": "男", "F": "女"}


@dataclass(frozen=True, slots=True)
class ExportFile:
    path: str
    count: int
    masked: bool
    org: Org


# The columns read per member: plain values, so the batch can be written in a worker thread.
_COLUMNS = (
    Member.member_no,
    Member.name,
    Member.id_number_enc,
    Member.phone_enc,
    Member.gender,
    Member.birth_date,
    Member.org_id,
    Member.status,
    Member.categories,
    Member.hardship_level,
    Member.employment_type,
    Member.employer,
    Member.job,
    Member.region_code,
    Member.joined_on,
)


def _category_labels(codes: list[str] | None) -> str:
    out = []
    for c in codes or []:
        try:
            out.append(CATEGORY_LABELS_ZH[Category(c)])
        except ValueError:
            out.append(c)
    return "、".join(out)


class _Writer:
    def __init__(self, cipher: PiiCipher, masked: bool, orgs: dict[uuid.UUID, Org]) -> None:
        self.cipher, self.masked, self.orgs = cipher, masked, orgs
        self.wb = Workbook(write_only=True)
        self.ws: WriteOnlyWorksheet = self.wb.create_sheet("会员名册")
        bold = Font(bold=True)
        header = []
        for h in HEADERS:
            cell = WriteOnlyCell(self.ws, value=h)
            cell.font = bold
            header.append(cell)
        self.ws.append(header)

    def _row(self, r: Any) -> list[Any]:
        id_number = self.cipher.decrypt(ID_FIELD, r.id_number_enc)
        phone = self.cipher.decrypt(PHONE_FIELD, r.phone_enc) if r.phone_enc else None
        born, region = r.birth_date, r.region_code
        if self.masked:
            # What a role that may not unmask sees: with the full birth date and the county,
            # a masked ID number narrows to a handful of candidates.
            id_number = mask_id_number(id_number)
            phone = mask_phone(phone) if phone else None
            born = born.year if born else None
            region = province_code(region)
        elif phone and phone.startswith("+86"):
            # Stored as E.164; a mainland number reads as its 11 digits in a spreadsheet (a
            # leading "+" would also be quoted by safe_cell). Foreign numbers keep the "+".
            phone = phone[3:]
        org = self.orgs.get(r.org_id)
        values: list[Any] = [
            r.member_no,
            r.name,
            id_number,
            phone,
            GENDER.get(r.gender, r.gender),
            born,
            org.code if org else None,
            org.name if org else None,
            STATUS_LABELS[MemberStatus(r.status)][0],
            _category_labels(r.categories),
            r.hardship_level,
            EMPLOYMENT_LABELS_ZH.get(r.employment_type or "", r.employment_type),
            r.employer,
            r.job,
            full_name(region),
            r.joined_on,
        ]
        return [self._cell(v) for v in values]

    def _cell(self, v: Any) -> Any:
        if isinstance(v, date):
            cell = WriteOnlyCell(self.ws)
            cell.value = v  # (set, not passed: the stub's WriteOnlyCell leaves dates out)
            cell.number_format = "yyyy-mm-dd"
            return cell
        return safe_cell(v)

    def write(self, rows: Sequence[Any]) -> None:
        for r in rows:
            self.ws.append(self._row(r))

    def save(self) -> str:
        fd, path = tempfile.mkstemp(prefix="members-", suffix=".xlsx")
        os.close(fd)
        try:
            self.wb.save(path)
        except BaseException:
            os.unlink(path)
            raise
        return path


async def export_members(
    session: AsyncSession,
    viewer: Principal,
    cipher: PiiCipher,
    org_id: uuid.UUID,
    *,
    unmask: bool = False,
    status: MemberStatus | None = None,
    read: AsyncSession | None = None,
) -> ExportFile:
    """Write the export and add its audit row to the session's transaction; the members are
    read with ``read`` when given (a read replica's session), else with ``session``.

    404 for an org the viewer has no role on; 403 for a role without ``member.export``.
    ``unmask`` is honoured only with ``member.unmask`` on the org; otherwise the file is
    masked (and the audit row says that unmasking was asked for and not granted).
    """
    org = await (read or session).get(Org, org_id)
    if org is None or not viewer.sees(org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    if not viewer.can(Perm.member_export, org.path):
        raise Forbidden(
            "export_forbidden", "您的角色无权导出会员名册", "your role may not export members"
        )
    masked = not (unmask and viewer.can(Perm.member_unmask, org.path))
    orgs = {
        o.id: o
        for o in await (read or session).scalars(
            select(Org).where(Org.path.startswith(org.path, autoescape=True))
        )
    }
    conds = [Member.org_path.startswith(org.path, autoescape=True)]
    if status is not None:
        conds.append(Member.status == status)
    writer = _Writer(cipher, masked, orgs)
    count = 0
    result = await (read or session).stream(
        select(*_COLUMNS)
        .where(*conds)
        .order_by(Member.org_path, Member.member_no)
        .execution_options(yield_per=BATCH)
    )
    async for batch in result.partitions(BATCH):
        await anyio.to_thread.run_sync(writer.write, batch)
        count += len(batch)
    path = await anyio.to_thread.run_sync(writer.save)
    record(
        session,
        viewer,
        "member.export",
        target_type="org",
        target_id=org.id,
        org_path=org.path,
        summary={
            "format": "xlsx",
            "count": count,
            "masked": masked,
            "unmask_requested": unmask,
            "status": status.value if status else None,
        },
    )
    return ExportFile(path=path, count=count, masked=masked, org=org)

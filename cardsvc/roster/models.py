from __future__ import annotations

import uuid

from advanced_alchemy.base import UUIDv7Base
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column


class RosterImportError(UUIDv7Base):
    """One problem found in one row (or cell) of an imported roster: the downloadable report.

    ``value`` is what the cell held, masked for ID numbers and phones: the report is for
    finding the row, not a second copy of personal data.
    """

    __tablename__ = "roster_import_error"
    __table_args__ = (Index("ix_roster_import_error_job_row", "job_id", "row_no"),)

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"))
    row_no: Mapped[int]
    column: Mapped[str | None] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(48))
    reason_zh: Mapped[str] = mapped_column(String(255))
    reason_en: Mapped[str] = mapped_column(String(255))
    value: Mapped[str | None] = mapped_column(String(128))

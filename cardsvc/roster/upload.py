"""A roster file uploaded over HTTP: streamed to disk, checked, queued as an import job.

The staff API (``POST /api/v1/roster/imports``) and the console's upload form both call
:func:`import_upload`.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.datastructures import State
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.jobs.models import Job
from cardsvc.kernel.errors import AppError, NotFound, unexpected_file_field
from cardsvc.kernel.principal import Principal
from cardsvc.kernel.settings import Settings
from cardsvc.roster import service
from cardsvc.roster.errors import RosterFileError
from cardsvc.roster.files import UploadSink, UploadTooLarge, upload_dir

_FIELD_MAX = 200


def _truthy(value: str | None) -> bool | None:
    if value is None:
        return None
    return value.strip().lower() in {"1", "true", "yes", "on"}


async def receive_upload(
    request: Request[Any, Any, Any], settings: Settings
) -> tuple[UploadSink, str, dict[str, str]]:
    """Stream the multipart body to disk: the file is never held in memory."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != "multipart/form-data" or not options.get("boundary"):
        raise AppError(
            "unsupported_media_type",
            "请以 multipart/form-data 上传文件（字段名 file）",
            "upload the file as multipart/form-data (field name: file)",
            status=415,
        )
    max_bytes = settings.upload_max_mb * 1024 * 1024
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + 65536:
        raise UploadTooLarge(
            message_zh=f"文件超过 {settings.upload_max_mb} MB 上限，请拆分后分批导入",
            message_en=f"The file exceeds the {settings.upload_max_mb} MB limit; split it",
        )
    sink: UploadSink | None = None
    filename = ""
    fields: dict[str, str] = {}
    current: MultipartSegment | None = None
    is_file = False
    buf = bytearray()
    parser = PushMultipartParser(options["boundary"], max_segment_count=8)
    try:
        async for chunk in request.stream():
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    current, buf = event, bytearray()
                    if event.filename is not None and event.name != "file":
                        raise unexpected_file_field()
                    is_file = event.name == "file"
                    if is_file:
                        if sink is not None:
                            raise AppError(
                                "one_file_only", "一次只能上传一个文件", "upload one file at a time"
                            )
                        sink = UploadSink(upload_dir(settings), max_bytes)
                        filename = event.filename or ""
                elif event is None:
                    if current is not None and not is_file:
                        fields[current.name or ""] = buf.decode("utf-8", "replace").strip()
                    current = None
                elif is_file:
                    assert sink is not None
                    sink.write(event)
                elif len(buf) < _FIELD_MAX:
                    buf += event[: _FIELD_MAX - len(buf)]
        parser.close()
    except MultipartError:
        if sink is not None:
            sink.discard()
        raise AppError(
            "malformed_upload",
            "上传内容不完整或格式错误，请重新上传",
            "the upload is incomplete or malformed; try again",
        ) from None
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    if sink is None:
        raise AppError(
            "file_required", "请选择要上传的文件（字段名 file）", "no file (field: file)"
        )
    return sink, filename, fields


async def import_upload(
    request: Request[Any, Any, Any],
    state: State,
    staff: Principal,
    session: AsyncSession,
    *,
    org_id: uuid.UUID | None = None,
    dry_run: bool | None = None,
) -> Job:
    """Receive the file, check it and queue its import (committed; the runner is woken).

    ``org_id``/``dry_run`` from the query win over the form's fields of the same name.
    """
    settings: Settings = state.settings
    org = await service.target_org(session, staff, org_id) if org_id else None
    sink, filename, fields = await receive_upload(request, settings)
    try:
        if org is None:
            form_org = fields.get("org_id")
            try:
                wanted = uuid.UUID(form_org) if form_org else None
            except ValueError:
                raise NotFound("org_not_found", "未找到该组织", "Org not found") from None
            org = await service.target_org(session, staff, wanted)
        fmt = service.sniff(sink.head, filename)
    except BaseException:
        sink.discard()
        raise
    stored = sink.keep(fmt)
    try:
        service.check_package(stored, fmt)
    except RosterFileError:
        stored.path.unlink(missing_ok=True)
        raise
    form_dry = _truthy(fields.get("dry_run"))
    job = await service.start_import(
        session,
        settings,
        staff,
        stored=stored,
        fmt=fmt,
        filename=service.clean_filename(filename),
        dry_run=bool(form_dry if form_dry is not None else dry_run),
        org=org,
    )
    await session.commit()
    if runner := getattr(state, "jobs", None):
        runner.wake()
    await service.purge_uploads(session, settings)
    return job

"""Reading one attachment from a multipart body, never more than the limit into memory."""

from __future__ import annotations

from typing import Any

from litestar import Request
from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from cardsvc.kernel.errors import AppError, unexpected_file_field
from cardsvc.kernel.openapi import ATTACHMENT, BINARY, problem_responses, success_operation
from cardsvc.kernel.settings import Settings
from cardsvc.servicereq.attachments import too_large

UPLOAD_DOC = (
    "multipart/form-data with one file in the field `file`: JPEG, PNG, WebP, HEIC or PDF "
    "(checked by content), at most `UNIONCARD_ATTACHMENT_MAX_MB`, at most "
    "`UNIONCARD_ATTACHMENT_MAX_COUNT` per request. Errors: 413 `attachment_too_large`, 415 "
    "`attachment_type`, 409 `too_many_attachments` / `request_closed`."
)

# Sent with the type found in its content (as accepted on upload), as a file to keep.
DOWNLOAD_OPERATION = success_operation(
    media={
        t: BINARY
        for t in ("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf")
    },
    headers={"Content-Disposition": ATTACHMENT},
)
UPLOAD_RESPONSES = problem_responses(
    {"upload_too_large": (413, "文件过大", "The file is too large")}, "upload_too_large"
)


async def read_one_file(
    request: Request[Any, Any, Any], settings: Settings
) -> tuple[bytes, str | None]:
    """(bytes, filename) of the single file in the ``file`` field; 413 beyond the limit."""
    media, options = parse_options_header(request.headers.get("content-type", ""))
    if media != "multipart/form-data" or not options.get("boundary"):
        raise AppError(
            "unsupported_media_type",
            "请以 multipart/form-data 上传附件（字段名 file）",
            "upload the attachment as multipart/form-data (field name: file)",
            status=415,
        )
    max_bytes = settings.attachment_max_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + 65536:
        raise too_large(settings)
    data, filename, files, in_file = bytearray(), None, 0, False
    parser = PushMultipartParser(options["boundary"], max_segment_count=4)
    try:
        async for chunk in request.stream():
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    if event.filename is not None and event.name != "file":
                        raise unexpected_file_field()
                    in_file = event.name == "file"
                    if in_file:
                        files += 1
                        if files > 1:
                            raise AppError(
                                "one_file_only", "一次只能上传一个附件", "upload one file at a time"
                            )
                        filename = event.filename
                elif event is None:
                    in_file = False
                elif in_file:
                    data += event
                    if len(data) > max_bytes:
                        raise too_large(settings)
        parser.close()
    except MultipartError:
        raise AppError(
            "malformed_upload",
            "上传内容不完整或格式错误，请重新上传",
            "the upload is incomplete or malformed; try again",
        ) from None
    if files == 0:
        raise AppError(
            "file_required", "请选择要上传的文件（字段名 file）", "no file (field: file)"
        )
    return bytes(data), filename

"""Uploaded roster files on disk: streamed in with a size limit, named by content hash.

Files hold ID numbers in clear, so they live only as long as a job needs them: mode 0600, in
the upload folder (``UNIONCARD_UPLOAD_DIR``), deleted when the import ends (a dry run's file
is kept for a day so that its real run can follow without uploading again).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from cardsvc.kernel.errors import AppError
from cardsvc.kernel.settings import Settings

DRY_RUN_KEEP_SECONDS = 24 * 3600


def upload_dir(settings: Settings) -> Path:
    return settings.upload_dir or settings.var_dir / "uploads"


class UploadTooLarge(AppError):
    status = 413
    code = "upload_too_large"
    message_zh = "文件过大"
    message_en = "The file is too large"


@dataclass(frozen=True, slots=True)
class StoredFile:
    path: Path
    sha256: str
    size: int
    head: bytes  # the first bytes, for format detection


class UploadSink:
    """Write chunks to a private temporary file, hashing and counting; then keep or discard."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory = directory
        self.max_bytes = max_bytes
        self.tmp = directory / f".upload-{uuid.uuid4().hex}.part"
        self._fd = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._hash = hashlib.sha256()
        self.size = 0
        self.head = b""

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            mb = self.max_bytes // (1024 * 1024)
            raise UploadTooLarge(
                message_zh=f"文件超过 {mb} MB 上限，请拆分后分批导入",
                message_en=f"The file exceeds the {mb} MB limit; split it",
            )
        if len(self.head) < 65536:
            self.head += chunk[: 65536 - len(self.head)]
        self._hash.update(chunk)
        os.write(self._fd, chunk)

    def keep(self, ext: str) -> StoredFile:
        os.close(self._fd)
        digest = self._hash.hexdigest()
        final = self.directory / f"{digest}.{ext}"
        os.replace(self.tmp, final)  # same content, same name: a re-upload replaces itself
        return StoredFile(final, digest, self.size, self.head)

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)
        self.tmp.unlink(missing_ok=True)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def spool_path(settings: Settings, job_id: uuid.UUID) -> Path:
    return upload_dir(settings) / "spool" / f"{job_id}.spool"


def purge_old(settings: Settings, keep: set[str], older_than: float = DRY_RUN_KEEP_SECONDS) -> int:
    """Delete uploads older than a day that no unfinished job still needs."""
    directory = upload_dir(settings)
    if not directory.exists():
        return 0
    cutoff = time.time() - older_than
    removed = 0
    for path in [*directory.iterdir(), *(directory / "spool").glob("*")]:
        name = path.name.lstrip(".").split(".")[0]
        if path.is_file() and path.stat().st_mtime < cutoff and name not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def source_problem(path: Path, spool: Path, sha256: str) -> bool:
    """The upload is gone, or (without a spool to resume from) no longer the same bytes."""
    return not path.exists() or (not spool.exists() and sha256_of(path) != sha256)


def remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)

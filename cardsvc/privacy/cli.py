"""``unioncard privacy …`` and ``unioncard keys rotate-data|new-data-key|data-usage``.

Operators' commands on the configured database, acting (and audited) as the system.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

T = TypeVar("T")


def _with_engine(fn: Callable[[Any, Any], Awaitable[T]]) -> T:
    """``fn(engine, settings)`` on the configured database, then dispose."""
    from cardsvc.kernel.db import import_all_models, settings_engine
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.settings import get_settings

    async def _main() -> T:
        import_all_models()
        settings = get_settings()
        engine = settings_engine(settings)
        try:
            return await fn(engine, settings)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_main())
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh} / {exc.message_en}") from exc


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


async def _member_by_no(session: Any, member_no: str) -> Any:
    from sqlalchemy import select

    from cardsvc.kernel.errors import NotFound
    from cardsvc.members.models import Member

    member = await session.scalar(select(Member).where(Member.member_no == member_no.strip()))
    if member is None:
        raise NotFound("member_not_found", "未找到该会员", "Member not found")
    return member


@click.group(name="privacy", help="Personal data (PIPL): retention purge, erasure, export")
def privacy_group() -> None:
    pass


@privacy_group.command(
    name="purge",
    help="Delete personal data past its retention now (scan log, ended applications, codes)",
)
def purge_cmd() -> None:
    from cardsvc.kernel.db import make_sessionmaker
    from cardsvc.privacy.retention import run_retention

    async def _do(engine: Any, settings: Any) -> dict[str, Any]:
        async def _progress(name: str, total: int) -> None:
            click.echo(f"{name}: {total} deleted so far", err=True)

        return await run_retention(make_sessionmaker(engine), settings, on_batch=_progress)

    _emit(_with_engine(_do))


@privacy_group.command(
    name="erase", help="Erase a member's personal data for good (ledger and settlements kept)"
)
@click.argument("member_no")
@click.option("--reason", required=True, help="basis, e.g. the request's reference number")
def erase_cmd(member_no: str, reason: str) -> None:
    from cardsvc.kernel.db import make_sessionmaker
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.kernel.stores import make_redis, make_store_registry
    from cardsvc.memberauth.sessions import close_member_sessions
    from cardsvc.privacy.erasure import erase_member, sweep_files
    from cardsvc.privacy.parts import all_parts

    async def _do(engine: Any, settings: Any) -> dict[str, Any]:
        parts = all_parts()
        async with make_sessionmaker(engine)() as session:
            async with session.begin():
                member = await _member_by_no(session, member_no)
                result = await erase_member(
                    session,
                    SYSTEM,
                    PiiCipher.from_settings(settings),
                    member.id,
                    reason=reason,
                    parts=parts,
                )
            result.counts.update(await sweep_files(session, settings, parts))
        ended = 0
        redis = make_redis(settings)
        if result.phone_hash and redis is not None:  # in-process sessions die with the app
            try:
                store = make_store_registry(redis).get("sessions")
                ended = await close_member_sessions(store, result.phone_hash)
            finally:
                await redis.aclose()
        return {
            "member_id": str(result.member_id),
            "member_no": result.member_no,
            "erased_at": result.erased_at.isoformat(),
            "sessions_ended": ended,
            **result.counts,
        }

    _emit(_with_engine(_do))


@privacy_group.command(name="export", help="Everything held about a member, as JSON (audited)")
@click.argument("member_no")
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write to this file (mode 0600) instead of standard output",
)
def export_cmd(member_no: str, out: Path | None) -> None:
    import os

    from cardsvc.kernel.audit import record
    from cardsvc.kernel.db import make_sessionmaker
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.privacy.export import member_export
    from cardsvc.privacy.parts import all_parts

    async def _do(engine: Any, settings: Any) -> dict[str, Any]:
        async with make_sessionmaker(engine)() as session, session.begin():
            member = await _member_by_no(session, member_no)
            record(
                session,
                SYSTEM,
                "member.privacy_export",
                target_type="member",
                target_id=member.id,
                org_path=member.org_path,
                summary={"member_no": member.member_no, "by": "cli"},
            )
            return await member_export(
                session, PiiCipher.from_settings(settings), member, all_parts()
            )

    text = json.dumps(_with_engine(_do), ensure_ascii=False, indent=2, default=str)
    if out is None:
        click.echo(text)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text + "\n")
    click.echo(f"written to {out}", err=True)


# --- data keys (added to ``unioncard keys``) -------------------------------------------------


@click.command(
    name="rotate-data",
    help="Re-encrypt ID numbers, phones and other ciphertexts under the first data key",
)
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 10000))
@click.option(
    "--max-batches",
    type=click.IntRange(min=1),
    help="stop after this many batches per table (run again to resume)",
)
def rotate_data_cmd(batch_size: int, max_batches: int | None) -> None:
    from cardsvc.kernel.audit import record
    from cardsvc.kernel.db import make_sessionmaker
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.privacy.parts import all_parts
    from cardsvc.privacy.rotate import RotationStats, key_usage, rotate_data

    async def _do(engine: Any, settings: Any) -> dict[str, Any]:
        cipher = PiiCipher.from_settings(settings)
        tables = all_parts().encrypted
        click.echo(
            f"re-encrypting under data key {cipher.active_kid!r} "
            f"(configured: {', '.join(cipher.key_ids)})",
            err=True,
        )

        async def _progress(s: RotationStats) -> None:
            click.echo(
                f"{s.table}: batch {s.batches}, {s.rewritten} re-encrypted, {s.skipped} skipped"
                + (" — done" if s.done else ""),
                err=True,
            )

        stats = await rotate_data(
            engine,
            cipher,
            tables,
            batch_size=batch_size,
            max_batches=max_batches,
            progress=_progress,
        )
        usage = await key_usage(engine, cipher.key_ids, tables)
        async with make_sessionmaker(engine)() as session, session.begin():
            record(
                session,
                SYSTEM,
                "data_key.rotate",
                target_type="data_key",
                target_id=cipher.active_kid,
                org_path=None,
                summary={s.table: s.rewritten for s in stats},
            )
        leftover = {
            kid: n
            for counts in usage.values()
            for kid, n in counts.items()
            if kid != cipher.active_kid and n
        }
        return {
            "key": cipher.active_kid,
            "complete": all(s.done for s in stats) and not leftover,
            "tables": {
                s.table: {"rewritten": s.rewritten, "skipped": s.skipped, "done": s.done}
                for s in stats
            },
            "usage": usage,
        }

    result = _with_engine(_do)
    _emit(result)
    if result["complete"]:
        click.echo(
            "every ciphertext is under the current key: remove the old key from "
            "UNIONCARD_DATA_KEYS and restart the workers (member sessions made under it sign "
            "out; wait UNIONCARD_MEMBER_SESSION_MAX_AGE first to spare members that)",
            err=True,
        )
    else:
        click.echo("not finished: run `unioncard keys rotate-data` again to resume", err=True)
        sys.exit(3)


@click.command(name="data-usage", help="How many ciphertexts each data key encrypts, per table")
def data_usage_cmd() -> None:
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.privacy.parts import all_parts
    from cardsvc.privacy.rotate import key_usage

    async def _do(engine: Any, settings: Any) -> dict[str, Any]:
        cipher = PiiCipher.from_settings(settings)
        return await key_usage(engine, cipher.key_ids, all_parts().encrypted)

    _emit(_with_engine(_do))


@click.command(name="new-data-key", help="Print a fresh kid:base64 entry for UNIONCARD_DATA_KEYS")
@click.option("--kid", required=True, help="key id: letters and digits, e.g. d2")
def new_data_key_cmd(kid: str) -> None:
    if not kid.isalnum() or len(kid) > 16:
        raise click.BadParameter("letters and digits, at most 16", param_hint="--kid")
    click.echo(f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}")

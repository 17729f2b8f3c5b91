"""``unioncard benefits …``: operators' commands. Each prints one JSON object on stdout.

``reconcile`` rebuilds the counters from the ledger (the ledger is the truth) and exits 1 when
it found drift, whether or not it fixed it, so a cron job or monitor notices; 0 means every
counter matched. Commands run on the app's own engine (``app.state.engine``): under
``unioncard`` (Litestar's CLI) the root context holds the app; tests pass the app as ``obj``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import click
from litestar import Litestar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from benefits.errors import BenefitsError
from benefits.models import Program, ProgramStatus

# The engine (benefits.public) is imported by the commands that run it, not for ``--help``.

T = TypeVar("T")
_P = Program.__table__
DRIFT_EXIT = 1


class _NoSuchProgram(click.ClickException):
    exit_code = 2  # not 1: that means drift


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _engine() -> AsyncEngine:
    root = click.get_current_context().find_root()
    obj = root.obj
    if callable(obj) and not isinstance(obj, Litestar) and not hasattr(obj, "app"):
        obj = root.obj = obj()  # Litestar's CLI may hold a factory of its environment
    app = obj if isinstance(obj, Litestar) else getattr(obj, "app", None)
    if not isinstance(app, Litestar):
        raise click.ClickException("no Litestar app in the CLI context (run it as unioncard …)")
    return app.state.engine


def _run(fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    engine = _engine()

    async def _main() -> T:
        try:
            async with engine.connect() as conn:
                return await fn(conn)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_main())
    except BenefitsError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh} / {exc.message_en}") from exc


def _emit(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=_json_default))


@click.group(name="benefits", help="Benefit programmes （普惠项目）")
def benefits_group() -> None:
    pass


@benefits_group.command(name="list", help="List programmes (code, status, version, owner)")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice([s.value for s in ProgramStatus]),
    help="only these statuses (repeatable)",
)
@click.option("--q", "search", help="code or name contains")
def list_cmd(statuses: tuple[str, ...], search: str | None) -> None:
    from benefits.public import list_programs

    async def _do(conn: AsyncConnection) -> dict[str, Any]:
        rows, total = await list_programs(
            conn, status=list(statuses) or None, search=search, limit=500
        )
        return {
            "total": total,
            "items": [
                {
                    "id": str(p.id),
                    "code": p.code,
                    "name": p.name,
                    "status": p.status,
                    "version": p.version_number,
                    "owner_org_id": str(p.owner_org_id),
                    "valid_from": p.valid_from,
                    "valid_until": p.valid_until,
                }
                for p in rows
            ],
        }

    _emit(_run(_do))


@benefits_group.command(
    name="reconcile", help="Rebuild counters from the ledger; exit 1 if any had drifted"
)
@click.option("--program", "code", help="only this programme (its code)")
@click.option(
    "--fix/--no-fix",
    default=True,
    show_default=True,
    help="rewrite drifted counters (--no-fix only reports)",
)
def reconcile_cmd(code: str | None, fix: bool) -> None:
    from benefits.public import reconcile

    async def _do(conn: AsyncConnection) -> dict[str, Any]:
        program_id: uuid.UUID | None = None
        if code is not None:
            program_id = (
                await conn.execute(select(_P.c.id).where(_P.c.code == code))
            ).scalar_one_or_none()
            await conn.rollback()
            if program_id is None:
                raise _NoSuchProgram(f"no programme with code {code}")
        report = await reconcile(conn, program_id=program_id, fix=fix)
        ids = list({d.program_id for d in report.drifts})
        rows = await conn.execute(select(_P.c.id, _P.c.code).where(_P.c.id.in_(ids)))
        codes: dict[uuid.UUID, str] = dict(rows.tuples().all())
        await conn.rollback()
        return {
            "ok": report.ok,
            "fixed": report.fixed,
            "counters_checked": report.counters_checked,
            "redemptions_read": report.redemptions_read,
            "drifts": [
                {
                    "program": codes.get(d.program_id, str(d.program_id)),
                    "policy": d.policy,
                    "metric": d.metric,
                    "scope_key": d.scope_key,
                    "period_key": d.period_key,
                    "counter_used": d.counter_used,
                    "ledger_used": d.ledger_used,
                }
                for d in report.drifts
            ],
        }

    result = _run(_do)
    _emit(result)
    for d in result["drifts"]:
        click.echo(
            f"drift {d['program']} {d['policy']} {d['scope_key']} {d['period_key']}: "
            f"counter {d['counter_used']} != ledger {d['ledger_used']}"
            + (" (fixed)" if result["fixed"] else ""),
            err=True,
        )
    if not result["ok"]:
        click.get_current_context().exit(DRIFT_EXIT)

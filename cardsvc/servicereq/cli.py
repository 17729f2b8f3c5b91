"""``unioncard service sweep``: the periodic sweep, once (cron, or after downtime)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import click

from cardsvc.kernel.clock import utc_now


@click.group(name="service", help="Service requests and hardship records")
def service_group() -> None:
    pass


@service_group.command(
    name="sweep",
    help="Escalate overdue requests, expire unreviewed hardship records, send pending "
    "SMS/WeChat copies of notifications; once",
)
@click.option("--at", "at", default=None, help="sweep as of this ISO time (default: now)")
def sweep(at: str | None) -> None:
    from cardsvc.kernel.db import import_all_models, make_sessionmaker, settings_engine
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.settings import get_settings
    from cardsvc.memberauth.senders import make_sender
    from cardsvc.servicereq.sweep import run_sweep

    try:
        now = datetime.fromisoformat(at) if at else utc_now()
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO time: {at}") from exc
    if now.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. 2026-03-01T08:00:00+08:00")

    async def _main() -> dict[str, int]:
        import_all_models()
        settings = get_settings()
        engine = settings_engine(settings)
        try:
            return await run_sweep(
                make_sessionmaker(engine),
                settings,
                sender=make_sender(settings.sms_sender),
                cipher=PiiCipher.from_settings(settings),
                now=now.astimezone(UTC),
            )
        finally:
            await engine.dispose()

    click.echo(json.dumps(asyncio.run(_main())))

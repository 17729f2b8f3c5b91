"""The ``unioncard`` command: Litestar's CLI with our commands added as a CLI plugin."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
from litestar.plugins import CLIPlugin

T = TypeVar("T")


def run_db(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``fn(session)`` in one transaction on the configured database, then dispose."""
    from cardsvc.kernel.db import import_all_models, make_engine, make_sessionmaker
    from cardsvc.kernel.settings import get_settings

    async def _main() -> T:
        import_all_models()
        engine = make_engine(get_settings().database_url)
        try:
            async with make_sessionmaker(engine)() as session, session.begin():
                return await fn(session)
        finally:
            await engine.dispose()

    return asyncio.run(_main())


@click.group(name="staff", help="Staff accounts")
def staff_group() -> None:
    pass


@staff_group.command(name="create", help="Create a staff account (e.g. the first administrator)")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="Display name")
@click.option("--org", "org_code", required=True, help="Org code the role is granted on")
@click.option(
    "--role",
    "roles",
    multiple=True,
    default=["federation_admin"],
    show_default=True,
    type=click.Choice(
        [
            "federation_admin",
            "union_admin",
            "benefits_manager",
            "merchant_manager",
            "auditor",
            "service_agent",
            "hardship_officer",
        ]
    ),
)
@click.option("--password", envvar="UNIONCARD_NEW_STAFF_PASSWORD", help="or prompt")
def staff_create(
    username: str, display_name: str, org_code: str, roles: tuple[str, ...], password: str | None
) -> None:
    from sqlalchemy import select

    from cardsvc.kernel.permissions import Role
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.orgs.models import Org
    from cardsvc.staff.service import create_staff

    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def _do(session: Any) -> str:
        org = await session.scalar(select(Org).where(Org.code == org_code.upper()))
        if org is None:
            raise click.ClickException(f"no org with code {org_code}")
        user = await create_staff(
            session,
            SYSTEM,
            username=username,
            display_name=display_name,
            password=password,
            grants=[(Role(r), org.id) for r in roles],
        )
        return str(user.id)

    from cardsvc.kernel.errors import AppError

    try:
        staff_id = run_db(_do)
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh} / {exc.message_en}") from exc
    click.echo(f"created staff {username} ({staff_id})")


@click.group(name="demo", help="The demo federation")
def demo_group() -> None:
    pass


@demo_group.command(name="seed", help="Create (or complete) the demo federation; idempotent")
def demo_seed() -> None:
    from cardsvc.app import demo_steps
    from cardsvc.demo.seed import seed_demo
    from cardsvc.kernel.settings import get_settings

    summary = asyncio.run(seed_demo(get_settings(), steps=demo_steps()))
    click.echo(json.dumps(summary, ensure_ascii=False))


@demo_group.command(name="banner", help="Print the demo URLs and logins")
def demo_banner() -> None:
    from cardsvc.demo.seed import banner
    from cardsvc.kernel.settings import get_settings

    click.echo(banner(get_settings()))


class UnionCardCLIPlugin(CLIPlugin):
    def on_cli_init(self, cli: click.Group) -> None:
        from cardsvc.jobs.cli import jobs_group

        cli.add_command(staff_group)
        cli.add_command(demo_group)
        from cardsvc.cards.cli import card_group, keys_group  # imports run_db from here

        cli.add_command(keys_group)
        cli.add_command(card_group)
        cli.add_command(jobs_group)
        from cardsvc.servicereq.cli import service_group

        cli.add_command(service_group)
        from cardsvc.privacy.cli import privacy_group

        cli.add_command(privacy_group)


def _service_request_parts() -> Any:
    from cardsvc.servicereq.privacy import servicereq_parts

    return servicereq_parts()


def _benefits_and_merchants_parts() -> Any:
    from cardsvc.flows.privacy import benefits_and_merchants_parts

    return benefits_and_merchants_parts()


def wire_privacy_parts() -> None:
    """The privacy commands see every package's personal data, as the app does."""
    from cardsvc.privacy.registry import register_parts

    register_parts("service_requests", _service_request_parts)
    register_parts("benefits_and_merchants", _benefits_and_merchants_parts)


def main() -> None:
    wire_privacy_parts()
    os.environ.setdefault("LITESTAR_APP", "cardsvc.app:create_app")
    from litestar.cli.main import litestar_group

    sys.exit(litestar_group())

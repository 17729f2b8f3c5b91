"""The ``unioncard`` command: Litestar's CLI with our commands added as a CLI plugin."""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import click
from litestar.cli._utils import LitestarExtensionGroup, LitestarGroup
from litestar.plugins import CLIPlugin


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

    from cardsvc.kernel.commands import run_db
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
    from cardsvc.demo.seed import DemoRefused, seed_demo
    from cardsvc.kernel.settings import get_settings
    from cardsvc.wiring import demo_steps

    try:
        summary = asyncio.run(seed_demo(get_settings(), steps=demo_steps()))
    except DemoRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(summary, ensure_ascii=False))


@demo_group.command(name="banner", help="Print the demo URLs and logins")
def demo_banner() -> None:
    from cardsvc.demo.banner import banner
    from cardsvc.kernel.settings import get_settings

    click.echo(banner(get_settings()))


# --- the ``unioncard`` root: Litestar's CLI, without building the app for every command ------
#
# Litestar's root group builds the app (``LITESTAR_APP``) before any command, even ``--help``,
# so that its CLI plugins can add their commands. Most of our commands need no app: they read
# the settings and open the database themselves. The root below knows the plugins' commands by
# name (click's "lazy group" pattern), imports a command's module only when that command runs,
# and leaves the app to the commands that ask for it: Litestar's own (``run``, ``routes``,
# ``schema`` …, through the context's lazy environment) and ``benefits``/``merchants`` (which
# take it from the context). ``unioncard --help`` lists these commands from the table without
# importing them; tests/cardsvc/test_cli_lazy.py checks the table against the plugins' real commands.

DEFAULT_APP = "cardsvc.app:create_app"


@dataclass(frozen=True)
class LazyCommand:
    target: str  # "module:attribute" of the click command
    help: str  # its help text, as the root's --help shows it (checked by the tests)
    aliases: tuple[str, ...] = ()
    own: bool = False  # one of cardsvc's (UnionCardCLIPlugin); else another plugin's
    needs_app: bool = False  # takes the app from the CLI context (benefits, merchants)
    # plugs the packages together first (cardsvc.wiring: job kinds, privacy parts, the card
    # following a member's status): every command of the group, or only the named ones; the
    # others stay light
    wired: bool | frozenset[str] = False


# Every command the app's CLI plugins add (SQLAlchemyPlugin, UnionCardCLIPlugin,
# MerchantsPlugin, BenefitsPlugin). Module paths are strings: cardsvc imports benefits and
# merchants only in its composition root (the commands still reach the app through it).
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "benefits": LazyCommand(
        "benefits.cli:benefits_group", "Benefit programmes （普惠项目）", needs_app=True
    ),
    "card": LazyCommand(
        "cardsvc.cards.cli:card_group",
        "Membership cards: tokens, offline verification, issuance",
        own=True,
    ),
    "database": LazyCommand(
        "advanced_alchemy.extensions.litestar.cli:database_group",
        "Manage SQLAlchemy database components.",
        aliases=("db",),
    ),
    "demo": LazyCommand(
        "cardsvc.cli:demo_group", "The demo federation", own=True, wired=frozenset({"seed"})
    ),
    "jobs": LazyCommand(
        "cardsvc.jobs.cli:jobs_group", "Background jobs (roster imports)", own=True, wired=True
    ),
    "keys": LazyCommand(
        "cardsvc.cards.cli:keys_group",
        "Card-signing keys (Ed25519): list, rotate, retire",
        own=True,
        # these read or rewrite every package's encrypted columns
        wired=frozenset({"rotate-data", "data-usage"}),
    ),
    "merchants": LazyCommand(
        "merchants.cli:merchants_group", "Merchants, stores, terminal keys", needs_app=True
    ),
    "privacy": LazyCommand(
        "cardsvc.privacy.cli:privacy_group",
        "Personal data (PIPL): retention purge, erasure, export",
        own=True,
        wired=True,
    ),
    "service": LazyCommand(
        "cardsvc.servicereq.cli:service_group",
        "Service requests and hardship records",
        own=True,
        wired=True,
    ),
    "setup": LazyCommand(
        "cardsvc.staff.cli:setup_cmd",
        "Create the root federation and its first administrator; idempotent",
        own=True,
    ),
    "staff": LazyCommand("cardsvc.cli:staff_group", "Staff accounts", own=True),
}


# Commands of one package shown in another's group: the data-key commands (privacy) sit in
# ``keys`` beside the signing keys.
SUBCOMMANDS: dict[str, tuple[str, ...]] = {
    "keys": (
        "cardsvc.privacy.cli:rotate_data_cmd",
        "cardsvc.privacy.cli:data_usage_cmd",
        "cardsvc.privacy.cli:new_data_key_cmd",
    ),
}


def _target(target: str) -> click.Command:
    module, attr = target.split(":")
    command: click.Command = getattr(importlib.import_module(module), attr)
    return command


def load_command(name: str) -> click.Command:
    """The click command behind ``LAZY_COMMANDS[name]`` (imports its module)."""
    command = _target(LAZY_COMMANDS[name].target)
    if isinstance(command, click.Group):
        for target in SUBCOMMANDS.get(name, ()):
            command.add_command(_target(target))
    return command


class UnionCardCLIPlugin(CLIPlugin):
    """cardsvc's commands, for Litestar's own CLI (``litestar --app cardsvc.app:create_app``)."""

    def on_cli_init(self, cli: click.Group) -> None:
        server_leaves_forwarded_headers()
        for name, lazy in LAZY_COMMANDS.items():
            if lazy.own:
                cli.add_command(load_command(name))


def _configure(*, models: bool = False, wired: bool = False) -> None:
    """What building the app did before every command: read the settings (refused when
    invalid; generated in development), set up logging (``unioncard.*`` lines on stderr), for
    the ``database`` commands import every model (the metadata they work on), and for the
    commands that need it wire the packages together (``cardsvc.wiring``) as the app does."""
    from cardsvc.kernel.logs import configure_logging
    from cardsvc.kernel.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    if models:
        from cardsvc.kernel.db import import_all_models

        import_all_models()
    if wired:
        from cardsvc.wiring import wire

        wire()


def _configured(
    cmd: click.Command, *, models: bool = False, wired: bool | frozenset[str] = False
) -> None:
    """Run ``_configure`` before each of ``cmd``'s commands runs (not for ``--help``); ``wired``
    names the group's commands that need the packages wired, or is True for all of them."""
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            sub_wired = wired if isinstance(wired, bool) else name in wired
            _configured(sub, models=models, wired=sub_wired)
        return
    wired = bool(wired)
    callback = cmd.callback
    if callback is None or getattr(callback, "_unioncard_configured", False):
        return

    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        _configure(models=models, wired=wired)
        return callback(*args, **kwargs)

    run._unioncard_configured = True  # type: ignore[attr-defined]
    run._unioncard_wired = wired  # type: ignore[attr-defined]
    cmd.callback = run


class _DatabaseEnv:
    """The CLI environment of advanced-alchemy's ``database`` commands, which read only the
    SQLAlchemy plugin's config from ``ctx.obj.app``: an app holding that plugin alone, with
    the config and engine that ``create_app`` gives its own (built on first use, by the group
    before its command is parsed; the models are imported when a command runs)."""

    @functools.cached_property
    def app(self) -> Any:
        from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
        from litestar import Litestar

        from cardsvc.kernel.db import sqlalchemy_config
        from cardsvc.kernel.settings import get_settings

        config = sqlalchemy_config(get_settings())
        return Litestar(plugins=[SQLAlchemyPlugin(config=config)])


class UnionCardGroup(LitestarExtensionGroup):
    """Litestar's root group that loads the app only for the commands that use it."""

    def __init__(self, **attrs: Any) -> None:
        # LitestarGroup's __init__, not LitestarExtensionGroup's: the root's commands come in
        # from Litestar's own root, entry-point extensions included (loaded once, there).
        LitestarGroup.__init__(self, **attrs)
        self._prepare_done = False
        self.lazy = dict(LAZY_COMMANDS)
        self._aliases = {a: n for n, c in self.lazy.items() for a in c.aliases}
        self._listing = False

    def _prepare(self, ctx: click.Context) -> None:
        if self._prepare_done:
            return
        app_path = ctx.params.get("app_path") or os.environ.get("LITESTAR_APP")
        if app_path != DEFAULT_APP or ctx.params.get("app_dir") is not None:
            # Another app: its plugins add their commands, as in Litestar's own CLI.
            self.lazy.clear()
            self._aliases.clear()
            super()._prepare(ctx)
        self._prepare_done = True

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def format_help(self, ctx: click.Context, formatter: Any) -> None:
        self._listing = True  # list the lazy commands from the table, without importing them
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        name = self._aliases.get(cmd_name, cmd_name)
        if name in self.lazy and name not in self.commands:
            lazy = self.lazy[name]
            if self._listing:
                cmd = click.Command(name, help=lazy.help)
                cmd.aliases = list(lazy.aliases)  # type: ignore[attr-defined]
                return cmd
            cmd = load_command(name)
            if not lazy.needs_app:  # those build the app, which does this
                _configured(cmd, models=name == "database", wired=lazy.wired)
            # rich-click types add_command for its own command class; a click command works.
            self.add_command(cmd, name)  # type: ignore[arg-type]
            if name == "database" and ctx.obj is None:
                ctx.obj = _DatabaseEnv()
        return super().get_command(ctx, name)


def _root() -> UnionCardGroup:
    """Litestar's root group (options, help, built-in commands) as a ``UnionCardGroup``."""
    from litestar.cli.main import litestar_group as base

    return UnionCardGroup(
        name=base.name,
        commands=dict(base.commands),
        params=base.params,
        callback=base.callback,
        help=base.help,
        epilog=base.epilog,
        short_help=base.short_help,
        options_metavar=base.options_metavar,
        add_help_option=base.add_help_option,
        no_args_is_help=base.no_args_is_help,
        hidden=base.hidden,
        deprecated=base.deprecated,
        context_settings=base.context_settings,
        invoke_without_command=base.invoke_without_command,
        chain=base.chain,
    )


def server_leaves_forwarded_headers() -> None:
    """``unioncard run`` is uvicorn, which by default believes X-Forwarded-For from
    127.0.0.1 and rewrites the client's address before the app sees it. The app decides whom
    to believe (``UNIONCARD_TRUSTED_PROXIES``, ``cardsvc.kernel.web.forwarded_headers``), so
    uvicorn is told to trust no one (it reads ``FORWARDED_ALLOW_IPS``, in process and in its
    worker subprocesses alike)."""
    os.environ["FORWARDED_ALLOW_IPS"] = ""


def main() -> None:
    os.environ.setdefault("LITESTAR_APP", DEFAULT_APP)
    server_leaves_forwarded_headers()
    sys.exit(_root()())

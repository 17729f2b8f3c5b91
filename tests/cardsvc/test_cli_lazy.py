"""``unioncard`` builds the app only for the commands that use it (cardsvc/cli.py).

``--help`` and the commands that need no app (they read the settings and open the database
themselves) must not import the composition root, ``cardsvc.app``, nor what only it loads:
checked by running the installed script in fresh processes that write, as they exit, the names
of every module they imported. The root lists the plugins' commands from a table without
importing them; the table is checked against what the app's CLI plugins really add.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from cardsvc.cli import LAZY_COMMANDS, UnionCardCLIPlugin, load_command
from tests.conftest import make_test_settings

UNIONCARD = Path(sys.executable).with_name("unioncard")
# The composition root and what only it loads: the plugins of benefits and merchants, the pages.
APP_MODULES = ("cardsvc.app", "benefits.plugin", "merchants.plugin", "cardsvc.pages")


# Runs the installed script as its own __main__ and writes sys.modules when the process exits.
PROBE = """
import atexit, json, runpy, sys
out, script = sys.argv[1], sys.argv[2]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = sys.argv[2:]
runpy.run_path(script, run_name="__main__")
"""


def imported(var: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``unioncard ARGS`` in a fresh process; its result and the modules it imported."""
    env = {**os.environ, "UNIONCARD_VAR_DIR": str(var), "UNIONCARD_LOG_LEVEL": "WARNING"}
    env.pop("UNIONCARD_DATABASE_URL", None)
    env.pop("LITESTAR_APP", None)
    out = var.parent / "modules.json"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), str(UNIONCARD), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, set(json.loads(out.read_text()))


def app_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == a or m.startswith(a + ".") for a in APP_MODULES))


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("card", "--help"),
        ("card", "token", "--help"),
        ("merchants", "--help"),
        ("keys", "new-data-key", "--kid", "k2"),
        ("database", "upgrade", "--no-prompt"),
        ("demo", "banner"),
    ],
    ids=" ".join,
)
def test_light_commands_do_not_build_the_app(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc, modules = imported(tmp_path / "var", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "litestar.cli.main" in modules  # the listing worked
    assert app_modules(modules) == []
    if args == ("--help",):
        for name in LAZY_COMMANDS:  # listed from the table, none of them imported
            assert f"\n│ {name} " in proc.stdout
        assert not {"cardsvc.cards.cli", "benefits.cli", "merchants.cli"} & modules
        assert "advanced_alchemy.extensions.litestar.cli" not in modules


# The database stack (models, engine, advanced-alchemy's Litestar extension) and the wiring of
# the packages, which light commands must not load.
HEAVY = ("cardsvc.wiring", "cardsvc.kernel.db", "advanced_alchemy.extensions.litestar")


@pytest.mark.parametrize(
    "args",
    [
        ("demo", "banner"),
        ("keys", "new-data-key", "--kid", "k2"),
        ("merchants", "--help"),
        ("card", "token", "--help"),
        ("staff", "create", "--help"),
    ],
    ids=" ".join,
)
def test_light_commands_load_no_database_stack(tmp_path: Path, args: tuple[str, ...]) -> None:
    proc, modules = imported(tmp_path / "var", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [m for m in HEAVY if m in modules] == []


def test_seeding_the_demo_still_wires_the_packages() -> None:
    """The control: in the groups wired per command, the commands that need it are wired."""
    import click

    from cardsvc.cli import UnionCardGroup

    root = UnionCardGroup(name="unioncard")
    ctx = click.Context(root)
    for group, name, wired in [
        ("demo", "seed", True),
        ("demo", "banner", False),
        ("keys", "rotate-data", True),
        ("keys", "new-data-key", False),
        ("privacy", "purge", True),
    ]:
        cmd = root.get_command(ctx, group)
        assert isinstance(cmd, click.Group)
        callback = cmd.commands[name].callback
        assert getattr(callback, "_unioncard_wired", None) is wired, (group, name)


def test_app_commands_still_build_the_app(tmp_path: Path) -> None:
    """The control: ``routes`` (Litestar's own) loads ``cardsvc.app`` and lists its routes."""
    proc, modules = imported(tmp_path / "var", "routes")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "cardsvc.app" in modules and "benefits.plugin" in modules
    assert "/api/v1/redemptions" in proc.stdout


def test_the_table_is_what_the_plugins_add(tmp_path: Path) -> None:
    """Names, help and aliases shown by ``unioncard --help`` are those of the real commands,
    and each entry loads the very command its plugin adds."""
    from cardsvc.app import create_app

    app = create_app(make_test_settings(f"sqlite+aiosqlite:///{tmp_path}/t.db", tmp_path))
    cli = click.Group()
    for plugin in app.plugins.cli:
        plugin.on_cli_init(cli)
    assert set(cli.commands) == set(LAZY_COMMANDS)
    for name, lazy in LAZY_COMMANDS.items():
        cmd = cli.commands[name]
        assert load_command(name) is cmd, name
        assert (cmd.help, tuple(getattr(cmd, "aliases", ()) or ())) == (
            lazy.help,
            lazy.aliases,
        ), name
        assert lazy.own == (name in {c.name for c in _own_commands()}), (
            f"{name}: UnionCardCLIPlugin adds it?"
        )


def _own_commands() -> list[click.Command]:
    cli = click.Group()
    UnionCardCLIPlugin().on_cli_init(cli)
    return list(cli.commands.values())

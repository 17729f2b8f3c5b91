"""``unioncard setup``: the root federation and its first administrator on a new database.

Light on purpose (only click at import): the database stack loads when the command runs.
"""

from __future__ import annotations

import getpass
import os
from typing import Any

import click

from cardsvc.kernel.commands import run_db

PASSWORD_ENV = "UNIONCARD_ADMIN_PASSWORD"


def _password() -> str:
    """From ``UNIONCARD_ADMIN_PASSWORD``, else asked for twice (not echoed)."""
    if password := os.environ.get(PASSWORD_ENV):
        return password
    first = getpass.getpass("管理员密码 / Administrator password: ")
    if getpass.getpass("再输一次 / Repeat it: ") != first:
        raise click.ClickException("两次输入的密码不一致 / the two passwords differ")
    return first


@click.command(
    name="setup", help="Create the root federation and its first administrator; idempotent"
)
@click.option("--org-code", required=True, help="Code of the root org, e.g. HB")
@click.option("--org-name", required=True, help="Its name, e.g. 湖北省总工会")
@click.option(
    "--level",
    type=click.Choice(["national", "provincial"]),
    default="provincial",
    show_default=True,
)
@click.option("--admin", required=True, help="Username of the first federation_admin")
@click.option("--admin-name", default="", help="Display name (default: the username)")
def setup_cmd(org_code: str, org_name: str, level: str, admin: str, admin_name: str) -> None:
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.settings import get_settings
    from cardsvc.orgs.models import OrgLevel
    from cardsvc.staff.bootstrap import SetupRequest, is_set_up, set_up
    from cardsvc.staff.service import configure_password_hashing

    settings = get_settings()
    configure_password_hashing(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    req = SetupRequest(org_code, org_name, OrgLevel(level), admin, admin_name).normalised()
    done_text = (
        f"已完成初始化，未作任何更改：{req.org_code}（{req.org_name}），管理员 {req.admin}。\n"
        f"already set up, nothing changed: {req.org_code} ({req.org_name}), "
        f"administrator {req.admin}"
    )

    async def check(session: Any) -> bool:
        return await is_set_up(session, req)

    try:
        if run_db(check):  # before asking for a password that would not be used
            click.echo(done_text)
            return
        password = _password()

        async def create(session: Any) -> bool:
            return await set_up(session, req, password)

        created = run_db(create)
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh}\n{exc.message_en}") from exc
    if not created:  # another run finished first
        click.echo(done_text)
        return
    click.echo(
        f"已创建根组织 {req.org_code}（{req.org_name}）及其管理员 {req.admin}。\n"
        f"created the root org {req.org_code} ({req.org_name}) and its administrator "
        f"{req.admin} (federation_admin)"
    )

"""``unioncard merchants …``: onboarding from scripts. Every command prints one JSON object.

Commands act as the system principal (operators on the server), and are audited like the API.
They run on the app's own engine and cipher (``app.state``): under ``unioncard`` (Litestar's
CLI) the root context holds the app's environment; tests pass the app as ``obj``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from litestar import Litestar

from merchants.kinds import MerchantCategory, MerchantStatus

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from merchants.models import Merchant

# What a command runs is imported inside it: ``unioncard merchants --help`` loads only the
# enums that are the options' choices, not the models, the merchants service and their imports.

T = TypeVar("T")


def current_app() -> Litestar:
    root = click.get_current_context().find_root()
    obj = root.obj
    if callable(obj) and not isinstance(obj, Litestar) and not hasattr(obj, "app"):
        obj = root.obj = obj()  # Litestar's CLI may hold a factory of its environment
    app = obj if isinstance(obj, Litestar) else getattr(obj, "app", None)
    if not isinstance(app, Litestar):
        raise click.ClickException("no Litestar app in the CLI context (run it as unioncard …)")
    return app


def run(fn: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """``fn(session)`` in one transaction on the app's database; domain errors → exit 1."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from cardsvc.kernel.errors import AppError

    engine = current_app().state.engine

    async def _main() -> T:
        try:
            maker = async_sessionmaker(engine, expire_on_commit=False)
            async with maker() as session, session.begin():
                return await fn(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(_main())
    except AppError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message_zh} / {exc.message_en}") from exc


def emit(obj: dict[str, Any]) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


async def _merchant(session: AsyncSession, ref: str) -> Merchant:
    from merchants.errors import MerchantNotFound
    from merchants.models import Merchant
    from merchants.onboarding.service import find_by_uscc

    try:
        m = await session.get(Merchant, uuid.UUID(ref))
    except ValueError:
        m = await find_by_uscc(session, ref)
    if m is None:
        raise MerchantNotFound()
    return m


@click.group(name="merchants", help="Merchants, stores, terminal keys")
def merchants_group() -> None:
    pass


@merchants_group.command(name="create", help="Onboard a merchant")
@click.option("--org", "org_code", required=True, help="code of the owning org, e.g. HB-YC")
@click.option("--legal-name", required=True)
@click.option("--display-name", required=True)
@click.option("--uscc", required=True, help="unified social credit code (18 characters)")
@click.option("--category", required=True, type=click.Choice([c.value for c in MerchantCategory]))
@click.option("--region", required=True, help="6-digit administrative division code")
@click.option("--region-name")
@click.option("--contact-name", required=True)
@click.option("--contact-phone", required=True)
@click.option("--bank-name")
@click.option("--account-name")
@click.option(
    "--account-number", envvar="UNIONCARD_MERCHANT_ACCOUNT_NUMBER", help="or from the env"
)
def create_cmd(org_code: str, **opts: Any) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from cardsvc.public import find_org_by_code
    from merchants.onboarding.service import MerchantInput, create_merchant

    async def _do(session: AsyncSession) -> dict[str, Any]:
        org = await find_org_by_code(session, org_code)
        if org is None:
            raise click.ClickException(f"no org with code {org_code}")
        m = await create_merchant(
            session,
            SYSTEM,
            current_app().state.cipher,
            MerchantInput(
                org_id=org.id,
                legal_name=opts["legal_name"],
                display_name=opts["display_name"],
                uscc=opts["uscc"],
                category=MerchantCategory(opts["category"]),
                region=opts["region"],
                region_name=opts["region_name"],
                contact_name=opts["contact_name"],
                contact_phone=opts["contact_phone"],
                bank_name=opts["bank_name"],
                bank_account_name=opts["account_name"],
                bank_account_number=opts["account_number"],
            ),
        )
        return {"id": m.id, "uscc": m.uscc, "display_name": m.display_name}

    emit(run(_do))


@merchants_group.command(name="list", help="List or search merchants")
@click.option("--q", help="name contains, or exact USCC")
@click.option("--category", type=click.Choice([c.value for c in MerchantCategory]))
@click.option("--status", type=click.Choice([s.value for s in MerchantStatus]))
@click.option("--limit", default=200, show_default=True)
def list_cmd(q: str | None, category: str | None, status: str | None, limit: int) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.service import MerchantQuery, search_merchants

    async def _do(session: AsyncSession) -> dict[str, Any]:
        rows, total = await search_merchants(
            session,
            SYSTEM,
            MerchantQuery(
                q=q,
                category=MerchantCategory(category) if category else None,
                status=MerchantStatus(status) if status else None,
                limit=limit,
            ),
        )
        items = [
            {
                "id": m.id,
                "uscc": m.uscc,
                "display_name": m.display_name,
                "category": m.category.value,
                "region": m.region,
                "status": m.status.value,
            }
            for m in rows
        ]
        return {"total": total, "items": items}

    emit(run(_do))


@merchants_group.command(name="status", help="Suspend, resume or terminate a merchant")
@click.argument("merchant")
@click.argument("action", type=click.Choice(["suspend", "resume", "terminate"]))
@click.option("--reason")
def status_cmd(merchant: str, action: str, reason: str | None) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.service import change_status

    async def _do(session: AsyncSession) -> dict[str, Any]:
        m = await _merchant(session, merchant)
        m = await change_status(session, SYSTEM, m.id, action=action, reason=reason)
        return {"id": m.id, "status": m.status.value}

    emit(run(_do))


@merchants_group.command(name="add-store", help="Add a store to a merchant (id or USCC)")
@click.option("--merchant", required=True)
@click.option("--name", required=True)
@click.option("--address", required=True)
@click.option("--region", required=True)
def add_store_cmd(merchant: str, name: str, address: str, region: str) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.service import create_store

    async def _do(session: AsyncSession) -> dict[str, Any]:
        m = await _merchant(session, merchant)
        s = await create_store(session, SYSTEM, m.id, name=name, address=address, region=region)
        return {"id": s.id, "merchant_id": m.id, "name": s.name}

    emit(run(_do))


@merchants_group.command(
    name="add-terminal", help="Add a terminal to a store; prints its key (shown once)"
)
@click.option("--store", "store_id", required=True, type=click.UUID)
@click.option("--name", required=True)
def add_terminal_cmd(store_id: uuid.UUID, name: str) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.terminals import create_terminal

    async def _do(session: AsyncSession) -> dict[str, Any]:
        t, issued = await create_terminal(session, SYSTEM, store_id, name=name)
        return {"terminal_id": t.id, "key_prefix": issued.prefix, "key": issued.plain}

    emit(run(_do))
    click.echo("密钥仅显示这一次 / the key is shown this once", err=True)


@merchants_group.command(name="rotate-key", help="New key for a terminal (shown once)")
@click.option("--terminal", "terminal_id", required=True, type=click.UUID)
@click.option("--grace", "grace_seconds", default=0, show_default=True, help="old key's grace, s")
def rotate_key_cmd(terminal_id: uuid.UUID, grace_seconds: int) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.terminals import rotate_key

    async def _do(session: AsyncSession) -> dict[str, Any]:
        t, issued, old = await rotate_key(session, SYSTEM, terminal_id, grace_seconds=grace_seconds)
        return {
            "terminal_id": t.id,
            "key_prefix": issued.prefix,
            "key": issued.plain,
            "old_prefixes": [k.prefix for k in old],
        }

    emit(run(_do))
    click.echo("密钥仅显示这一次 / the key is shown this once", err=True)


@merchants_group.command(name="revoke-key", help="Revoke a key by its prefix (uck_xxxxxxxx)")
@click.argument("prefix")
@click.option("--reason")
def revoke_key_cmd(prefix: str, reason: str | None) -> None:
    from cardsvc.kernel.principal import SYSTEM
    from merchants.onboarding.terminals import revoke_key

    async def _do(session: AsyncSession) -> dict[str, Any]:
        key, _ = await revoke_key(session, SYSTEM, prefix=prefix, reason=reason)
        return {"prefix": key.prefix, "revoked_at": key.revoked_at}

    emit(run(_do))


@merchants_group.command(
    name="purge-scans",
    help="Delete scan-log rows older than UNIONCARD_SCAN_LOG_RETENTION_DAYS (personal data)",
)
@click.option("--days", type=click.IntRange(min=0), help="keep this many days instead")
def purge_scans_cmd(days: int | None) -> None:
    from cardsvc.kernel.clock import utc_now
    from merchants.terminal.scan import purge_scans
    from merchants.terminal.wiring import SCAN_LOG_RETENTION_DAYS

    settings = current_app().state.get("settings")
    keep = (
        days
        if days is not None
        else int(getattr(settings, "scan_log_retention_days", SCAN_LOG_RETENTION_DAYS))
    )

    async def _do(session: AsyncSession) -> dict[str, Any]:
        deleted = await purge_scans(session, older_than_days=keep, now=utc_now())
        return {"deleted": deleted, "retention_days": keep}

    emit(run(_do))

"""``unioncard keys …`` and ``unioncard card …``: signing keys, tokens, offline verification.

Database commands run in one transaction on the configured database (``run_db``) and are
audited as the system; ``card verify`` is offline (files only) like a merchant terminal.
Errors print their stable code and exit 1.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from cardsvc.kernel.commands import run_db

if TYPE_CHECKING:
    from cardsvc.kernel.errors import AppError

# Imports of what a command runs stay inside it: ``unioncard card --help`` and the other
# commands load only what they use (``cardsvc.kernel.errors`` alone brings asyncpg and redis).


def _fail(exc: AppError) -> NoReturn:
    raise click.ClickException(f"{exc.code}: {exc.message_zh} / {exc.message_en}") from exc


def _cipher() -> Any:
    from cardsvc.kernel.pii import PiiCipher
    from cardsvc.kernel.settings import get_settings

    return PiiCipher.from_settings(get_settings())


def _iso(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


# --- keys -----------------------------------------------------------------------------------


@click.group(name="keys", help="Card-signing keys (Ed25519): list, rotate, retire")
def keys_group() -> None:
    pass


@keys_group.command(name="list", help="Every key with its status (active signs; retiring verifies)")
def keys_list() -> None:
    from cardsvc.cards.keys import list_keys

    async def _do(session: Any) -> list[tuple[int, str, str, str, str]]:
        return [
            (k.kid, str(k.status), _iso(k.activated_at), _iso(k.retiring_since), _iso(k.retired_at))
            for k in await list_keys(session)
        ]

    rows = run_db(_do)
    if not rows:
        click.echo("no keys yet (the app creates the first one at start, or run: keys rotate)")
        return
    click.echo(f"{'kid':>5}  {'status':<9} {'activated':<26} {'retiring since':<26} retired")
    for kid, status, activated, retiring, retired in rows:
        click.echo(f"{kid:>5}  {status:<9} {activated:<26} {retiring:<26} {retired}")


def _audit(session: Any, action: str, kid: int, **summary: Any) -> None:
    from cardsvc.kernel.audit import record
    from cardsvc.kernel.principal import SYSTEM

    record(
        session,
        SYSTEM,
        action,
        target_type="signing_key",
        target_id=str(kid),
        org_path=None,
        summary=summary,
    )


@keys_group.command(
    name="rotate",
    help="Make a new active key; the current one turns retiring and keeps verifying",
)
def keys_rotate() -> None:
    from cardsvc.cards.keys import rotate_key
    from cardsvc.kernel.errors import AppError

    cipher = _cipher()

    async def _do(session: Any) -> int:
        row = await rotate_key(session, cipher)
        _audit(session, "card_key.rotate", row.kid)
        return row.kid

    try:
        kid = run_db(_do)
    except AppError as exc:
        _fail(exc)
    click.echo(f"key {kid} is now active; running workers pick it up within a minute")


@keys_group.command(
    name="retire", help="Stop verifying with a retiring key (its tokens become unknown_key)"
)
@click.argument("kid", type=int)
def keys_retire(kid: int) -> None:
    from cardsvc.cards.keys import retire_key
    from cardsvc.kernel.errors import AppError

    async def _do(session: Any) -> None:
        await retire_key(session, kid)
        _audit(session, "card_key.retire", kid)

    try:
        run_db(_do)
    except AppError as exc:
        _fail(exc)
    click.echo(f"key {kid} retired; it is left out of the JWKS")


@keys_group.command(name="jwks", help="Print the JWKS (as served at /.well-known/jwks.json)")
def keys_jwks() -> None:
    from cardsvc.cards.keys import jwks

    click.echo(json.dumps(run_db(jwks), indent=2))


# --- card -----------------------------------------------------------------------------------


@click.group(name="card", help="Membership cards: tokens, offline verification, issuance")
def card_group() -> None:
    pass


@card_group.command(name="token", help="Print a fresh token for a card (operations and testing)")
@click.argument("card_number")
@click.option("--static", "static", is_flag=True, help="the long-lived printed-card token")
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="also write the QR image (ECC M; Q with --static)",
)
def card_token(card_number: str, static: bool, png_path: Path | None) -> None:
    from cardsvc.cards import minting, service
    from cardsvc.cards.keys import KeyRing
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.settings import get_settings

    settings = get_settings()
    keyring = KeyRing(_cipher())

    async def _do(session: Any) -> minting.MintedToken:
        card = await service.get_card_by_number(session, number=card_number)
        if static:
            return await minting.static_token_for_card(
                session,
                card_id=card.id,
                keyring=keyring,
                validity_days=settings.card_static_validity_days,
            )
        return await minting.rotating_token_for_card(
            session,
            card_id=card.id,
            keyring=keyring,
            validity_seconds=settings.card_token_validity_seconds,
            refresh_seconds=settings.card_token_refresh_seconds,
        )

    try:
        token = run_db(_do)
    except AppError as exc:
        _fail(exc)
    if png_path is not None:
        from cardsvc.cards import render

        ecc = render.PRINT_ECC if static else render.SCREEN_ECC
        png_path.write_bytes(render.qr_png(token.text, ecc=ecc))
    click.echo(token.text)
    click.echo(f"expires {_iso(token.expires_at)}", err=True)


@card_group.command(
    name="verify",
    help="Verify a token offline against a JWKS and a status list file (like a terminal)",
)
@click.argument("text", required=False)
@click.option(
    "--image",
    "image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read the token from a QR image (PNG/JPEG) instead",
)
@click.option(
    "--jwks",
    "jwks_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JWKS file (GET /.well-known/jwks.json)",
)
@click.option(
    "--revocations",
    "revocations_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="status list file (GET /api/v1/cards/revocations)",
)
def card_verify(
    text: str | None, image: Path | None, jwks_file: Path, revocations_file: Path
) -> None:
    from cardsvc.cards.jwks import parse_jwks
    from cardsvc.cards.statuslist import parse_status_list
    from cardsvc.cards.verify import verify
    from cardsvc.kernel.clock import utc_now
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.settings import get_settings

    if (text is None) == (image is None):
        raise click.UsageError("give either TEXT or --image FILE")
    now = utc_now()
    try:
        if image is not None:
            from cardsvc.cards.render import read_qr

            text = read_qr(image)
        keyset = parse_jwks(jwks_file.read_bytes())
        revocations = parse_status_list(revocations_file.read_bytes().strip(), keyset)
        claims = verify(
            text, keyset, revocations, now, skew_seconds=get_settings().clock_skew_seconds
        )
    except AppError as exc:
        click.echo(json.dumps({"valid": False, "code": exc.code, "message": exc.message_en}))
        click.echo(f"{exc.code}: {exc.message_zh} / {exc.message_en}", err=True)
        sys.exit(1)
    click.echo(
        json.dumps(
            {
                "valid": True,
                "kid": claims.kid,
                "kind": claims.kind.name,
                "card_index": claims.card_index,
                "generation": claims.generation,
                "token_id": claims.token_id,
                "not_before": _iso(claims.not_before_at),
                "expires": _iso(claims.expires_at),
                "status_list_issued_at": _iso(datetime.fromtimestamp(revocations.issued_at, UTC)),
                "status_list_age_seconds": int(revocations.age_seconds(now)),
            }
        )
    )


@card_group.command(name="status-list", help="Print a freshly signed status list (revocations)")
def card_status_list() -> None:
    from cardsvc.cards import minting
    from cardsvc.cards.keys import KeyRing
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.settings import get_settings

    settings = get_settings()
    keyring = KeyRing(_cipher())

    async def _do(session: Any) -> str:
        return await minting.build_status_list(
            session,
            keyring=keyring,
            ttl_seconds=settings.card_status_list_ttl_seconds,
            valid_for_seconds=settings.card_status_list_valid_seconds,
        )

    try:
        click.echo(run_db(_do))
    except AppError as exc:
        _fail(exc)


@card_group.command(name="issue-missing", help="Issue cards to active members who have none")
def card_issue_missing() -> None:
    from cardsvc.cards import service
    from cardsvc.kernel.audit import record
    from cardsvc.kernel.errors import AppError
    from cardsvc.kernel.principal import SYSTEM

    async def _do(session: Any) -> int:
        cards = await service.issue_cards_for_active_members(session)
        if cards:
            record(
                session,
                SYSTEM,
                "card.issue_missing",
                target_type="card",
                target_id=None,
                org_path=None,
                summary={"issued": len(cards)},
            )
        return len(cards)

    try:
        count = run_db(_do)
    except AppError as exc:
        _fail(exc)
    click.echo(f"issued {count} card(s)")

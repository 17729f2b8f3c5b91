"""``unioncard setup`` on an empty database: the root federation and its first administrator,
who then signs in and works through the API; a second identical run changes nothing, another
one is refused. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.cardsvc.setup.support import ADMIN_PASSWORD, setup_args, unioncard
from tests.cardsvc.test_cli_lazy import app_modules, imported
from tests.support.staff import login


@pytest.fixture
def operator_env(db_url: str, var_dir: Path, engine: AsyncEngine) -> dict[str, str]:
    """The operator's settings on the test's database (its schema made by ``engine``)."""
    return {"UNIONCARD_DATABASE_URL": db_url, "UNIONCARD_VAR_DIR": str(var_dir)}


def _setup(env: dict[str, str], *args: str, password: str = ADMIN_PASSWORD) -> Any:
    return unioncard({**env, "UNIONCARD_ADMIN_PASSWORD": password}, *(args or setup_args()))


async def _audit_actions(client: AsyncTestClient[Litestar]) -> list[tuple[str, str]]:
    resp = await client.get("/api/v1/audit", params={"limit": 100})
    assert resp.status_code == 200, resp.text
    return [(e["action"], e["actor_name"]) for e in resp.json()["items"]]


async def test_setup_creates_the_root_and_its_admin_once(
    operator_env: dict[str, str], client: AsyncTestClient[Litestar]
) -> None:
    first = _setup(operator_env, *setup_args(admin="HB.Admin"), "--admin-name", "管理员")
    assert first.returncode == 0, first.stderr
    assert "created the root org HB (湖北省总工会)" in first.stdout

    await login(client, "hb.admin", ADMIN_PASSWORD)
    me = (await client.get("/api/v1/staff/me")).json()
    assert me["display_name"] == "管理员"
    assert [g["role"] for g in me["grants"]] == ["federation_admin"]
    orgs = (await client.get("/api/v1/orgs")).json()["items"]
    assert [(o["code"], o["name"], o["level"], o["parent_id"]) for o in orgs] == [
        ("HB", "湖北省总工会", "provincial", None)
    ]
    audit = await _audit_actions(client)
    assert ("org.create", "system") in audit and ("staff.create", "system") in audit

    # The same request again (any spelling of the same values): done already, nothing changes,
    # and no password is asked for or needed.
    again = unioncard(operator_env, *setup_args(code=" hb ", admin="hb.admin"))
    assert again.returncode == 0, again.stderr
    assert "already set up, nothing changed" in again.stdout
    assert await _audit_actions(client) == audit
    assert len((await client.get("/api/v1/orgs")).json()["items"]) == 1

    # The admin works: a child union through the API, scoped under the root.
    child = await client.post(
        "/api/v1/orgs",
        json={"code": "HB-WH", "name": "武汉市总工会", "level": "city", "parent_id": orgs[0]["id"]},
    )
    assert child.status_code == 201, child.text


@pytest.mark.parametrize(
    "args",
    [
        setup_args(code="GD", name="广东省总工会"),
        setup_args(name="湖北省总工会筹备组"),
        setup_args(admin="someone.else"),
        [*setup_args(), "--level", "national"],
    ],
    ids=["other code", "other name", "other admin", "other level"],
)
async def test_a_different_setup_is_refused(
    operator_env: dict[str, str], client: AsyncTestClient[Litestar], args: list[str]
) -> None:
    assert _setup(operator_env).returncode == 0
    refused = _setup(operator_env, *args, password="another-long-password")
    assert refused.returncode == 1, refused.stdout
    assert "setup_conflict" in refused.stderr
    assert "HB" in refused.stderr and "already" in refused.stderr

    await login(client, "hb.admin", ADMIN_PASSWORD)
    orgs = (await client.get("/api/v1/orgs")).json()["items"]
    assert [o["code"] for o in orgs] == ["HB"]
    staff = (await client.get("/api/v1/staff/users")).json()
    assert [s["username"] for s in staff] == ["hb.admin"]


@pytest.mark.only_on("sqlite")
async def test_password_is_asked_twice_without_the_variable(
    operator_env: dict[str, str], client: AsyncTestClient[Litestar]
) -> None:
    differ = unioncard(operator_env, *setup_args(), stdin="a-long-password-1\nanother-one-2\n")
    assert differ.returncode == 1
    assert "the two passwords differ" in differ.stderr

    short = unioncard(operator_env, *setup_args(), stdin="short\nshort\n")
    assert short.returncode == 1
    assert "password needs at least 10 characters" in short.stderr

    made = unioncard(operator_env, *setup_args(), stdin="typed-twice-pw\ntyped-twice-pw\n")
    assert made.returncode == 0, made.stderr
    assert (
        await client.post(
            "/api/v1/staff/session", json={"username": "hb.admin", "password": "typed-twice-pw"}
        )
    ).status_code == 200


@pytest.mark.only_on("sqlite")
@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (setup_args(code="h b"), 1, "code must be 2–32 upper-case letters"),
        (setup_args(name="湖"), 1, "name must be 2–128 characters"),
        (setup_args(admin="a b"), 1, "username: 3–64 letters"),
        ([*setup_args(), "--level", "city"], 2, "'city' is not one of 'national', 'provincial'"),
    ],
    ids=["code", "name", "admin", "level"],
)
async def test_bad_values_are_refused_and_nothing_is_made(
    operator_env: dict[str, str],
    client: AsyncTestClient[Litestar],
    args: list[str],
    status: int,
    message: str,
) -> None:
    bad = _setup(operator_env, *args)
    assert bad.returncode == status, bad.stdout
    assert message in bad.stderr
    # Nothing was left behind: the proper setup still runs on an empty database.
    assert _setup(operator_env).returncode == 0


@pytest.mark.only_on("sqlite")
def test_setup_is_a_light_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``setup`` needs the database only: neither its help nor a real run builds the app."""
    var = tmp_path / "var"
    helped, modules = imported(var, "setup", "--help")
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert app_modules(modules) == [] and "cardsvc.staff.bootstrap" not in modules

    assert imported(var, "database", "upgrade", "--no-prompt")[0].returncode == 0
    monkeypatch.setenv("UNIONCARD_ADMIN_PASSWORD", ADMIN_PASSWORD)
    ran, modules = imported(var, *setup_args())
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "created the root org HB" in ran.stdout
    assert app_modules(modules) == []

"""Staff accounts: passwords (argon2), role grants, server-side sessions. Sign-in attempts are
throttled before the password is checked (``cardsvc.staff.throttle``), never by locking."""

from __future__ import annotations

import contextlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.stores.base import Store
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.audit import record
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.errors import (
    Conflict,
    FieldError,
    NotFound,
    Unauthorized,
    ValidationError,
)
from cardsvc.kernel.permissions import Perm, Role
from cardsvc.kernel.principal import Grant, Principal
from cardsvc.orgs.models import Org
from cardsvc.staff.models import RoleGrant, StaffUser

_hasher = PasswordHasher()
# Verified against when the username is unknown, so both paths cost one argon2 verify.
_DUMMY_HASH = _hasher.hash("unioncard-dummy-password")
MIN_PASSWORD = 10


def configure_password_hashing(*, time_cost: int, memory_kib: int, parallelism: int) -> None:
    """The argon2 cost of new hashes (and of the dummy check), from the settings
    (``Settings.argon2_*``; the defaults are argon2-cffi's). A stored hash is verified at the
    cost it was made with; one made at another cost is rehashed at the next sign-in."""
    global _hasher, _DUMMY_HASH
    if (_hasher.time_cost, _hasher.memory_cost, _hasher.parallelism) == (
        time_cost,
        memory_kib,
        parallelism,
    ):
        return
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    _hasher, _DUMMY_HASH = hasher, hasher.hash("unioncard-dummy-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ValidationError.field(
            "password",
            f"密码至少 {MIN_PASSWORD} 个字符",
            f"password needs at least {MIN_PASSWORD} characters",
        )
    return _hasher.hash(password)


def principal_of(
    user: StaffUser, *, ip: str | None = None, request_id: str | None = None
) -> Principal:
    return Principal(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        grants=tuple(Grant(g.role, g.org_id, g.org_path) for g in user.grants),
        ip=ip,
        request_id=request_id,
    )


async def authenticate(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    now: datetime | None = None,
) -> StaffUser:
    """Check the password: a wrong one and an unknown or inactive account answer alike."""
    now = now or utc_now()
    user = await session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise Unauthorized("invalid_credentials", "用户名或密码错误", "Wrong username or password")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized(
            "invalid_credentials", "用户名或密码错误", "Wrong username or password"
        ) from None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


async def create_staff(
    session: AsyncSession,
    actor: Principal,
    *,
    username: str,
    display_name: str,
    password: str,
    grants: list[tuple[Role, uuid.UUID]],
) -> StaffUser:
    username = username.strip().lower()
    if not (3 <= len(username) <= 64 and username.replace("_", "").replace(".", "").isalnum()):
        raise ValidationError.field(
            "username",
            "用户名为 3–64 位字母、数字、点或下划线",
            "username: 3–64 letters, digits, dots or underscores",
        )
    if not grants:
        raise ValidationError.field("grants", "至少授予一个角色", "grant at least one role")
    if await session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise Conflict(
            "username_taken",
            "用户名已存在",
            "username is already taken",
            errors=[FieldError("username", "已被使用", "already used")],
        )
    user = StaffUser(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        grants=[],
    )
    session.add(user)
    for role, org_id in grants:
        await _add_grant(session, actor, user, role, org_id)
    await session.flush()
    record(
        session,
        actor,
        "staff.create",
        target_type="staff",
        target_id=user.id,
        org_path=min((g.org_path for g in user.grants), key=len),
        summary={
            "username": username,
            "grants": [[g.role.value, str(g.org_id)] for g in user.grants],
        },
    )
    return user


async def _add_grant(
    session: AsyncSession, actor: Principal, user: StaffUser, role: Role, org_id: uuid.UUID
) -> None:
    org = await session.get(Org, org_id)
    if org is None or not actor.can(Perm.staff_manage, org.path):
        raise NotFound("org_not_found", "未找到该组织", "Org not found")
    # Nobody hands out more than they hold: outside federation admins, a role can only be
    # granted by someone who holds that same role over the org.
    if not actor.is_system and not any(
        g.role in (Role.federation_admin, role) and org.path.startswith(g.org_path)
        for g in actor.grants
    ):
        raise ValidationError.field(
            "grants",
            f"无权授予该角色：{role.value}",
            f"you may not grant {role.value} on this org",
        )
    user.grants.append(RoleGrant(role=role, org_id=org.id, org_path=org.path))


async def get_staff(session: AsyncSession, viewer: Principal, staff_id: uuid.UUID) -> StaffUser:
    user = await session.get(StaffUser, staff_id)
    if user is None or not any(viewer.can(Perm.staff_manage, g.org_path) for g in user.grants):
        raise NotFound("staff_not_found", "未找到该工作人员", "Staff user not found")
    return user


async def list_staff(session: AsyncSession, viewer: Principal) -> list[StaffUser]:
    ids = select(RoleGrant.staff_id).where(
        viewer.scope_filter(RoleGrant.org_path, Perm.staff_manage)
    )
    rows = await session.scalars(
        select(StaffUser).where(StaffUser.id.in_(ids)).order_by(StaffUser.username)
    )
    return list(rows)


# --- server-side sessions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffSession:
    token: str
    staff_id: uuid.UUID
    csrf: str


async def open_session(store: Store, staff_id: uuid.UUID, max_age: int) -> StaffSession:
    """A fresh random token every sign-in: a token planted before sign-in is never promoted."""
    s = StaffSession(secrets.token_urlsafe(32), staff_id, secrets.token_urlsafe(24))
    await store.set(
        s.token, json.dumps({"staff_id": str(staff_id), "csrf": s.csrf}), expires_in=max_age
    )
    return s


async def load_session(store: Store, token: str) -> StaffSession | None:
    if not token or len(token) > 128:
        return None
    raw = await store.get(token)
    if raw is None:
        return None
    data = json.loads(raw)
    return StaffSession(token, uuid.UUID(data["staff_id"]), data["csrf"])


async def close_session(store: Store, token: str) -> None:
    await store.delete(token)

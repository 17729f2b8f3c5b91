"""Staff API for existing accounts: disable, enable, reset a password, grant and revoke roles
(see :mod:`cardsvc.staff.accounts` for who may do what)."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Controller, post
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.principal import Principal
from cardsvc.staff.accounts import grant_role, reset_password, revoke_role, set_active
from cardsvc.staff.routes import GrantIn, StaffOut, staff_out


class DisableIn(msgspec.Struct):
    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=255)]


class PasswordIn(msgspec.Struct):
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class StaffAccountController(Controller):
    path = "/api/v1/staff/users/{staff_id:uuid}"
    tags = ["staff: accounts"]

    @post("/disable", status_code=200, summary="Disable an account in my scope (signs it out)")
    async def disable(
        self, staff: Principal, db_session: AsyncSession, staff_id: uuid.UUID, data: DisableIn
    ) -> StaffOut:
        user = await set_active(db_session, staff, staff_id, active=False, reason=data.reason)
        return staff_out(user)

    @post("/enable", status_code=200, summary="Enable a disabled account in my scope")
    async def enable(
        self, staff: Principal, db_session: AsyncSession, staff_id: uuid.UUID
    ) -> StaffOut:
        return staff_out(await set_active(db_session, staff, staff_id, active=True, reason=""))

    @post("/password", status_code=200, summary="Set a new password for an account in my scope")
    async def password(
        self, staff: Principal, db_session: AsyncSession, staff_id: uuid.UUID, data: PasswordIn
    ) -> StaffOut:
        user = await reset_password(db_session, staff, staff_id, password=data.password)
        return staff_out(user)

    @post("/grants", status_code=200, summary="Grant a role on an org in my scope")
    async def grant(
        self, staff: Principal, db_session: AsyncSession, staff_id: uuid.UUID, data: GrantIn
    ) -> StaffOut:
        user = await grant_role(db_session, staff, staff_id, role=data.role, org_id=data.org_id)
        return staff_out(user)

    @post("/grants/revoke", status_code=200, summary="Revoke one of the account's roles")
    async def revoke(
        self, staff: Principal, db_session: AsyncSession, staff_id: uuid.UUID, data: GrantIn
    ) -> StaffOut:
        user = await revoke_role(db_session, staff, staff_id, role=data.role, org_id=data.org_id)
        return staff_out(user)

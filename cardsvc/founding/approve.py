"""Approving a founding application: the new grassroots union in the tree with its first
admin account and an invite link for its workers, or, for a firm joining a joint union, an
invite link of that union. The sign-in goes to the applicant's phone once committed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.founding.models import FoundingApplication, FoundingKind, FoundingStatus
from cardsvc.founding.service import NAME_FIELD, add_step, admin_username, audit, not_reviewable
from cardsvc.kernel.permissions import Role
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.principal import Principal
from cardsvc.membership.invites import create_invite
from cardsvc.orgs.models import OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.staff.service import create_staff


@dataclass(frozen=True, slots=True)
class Message:
    """A text for the applicant's phone, sent after the transaction commits."""

    phone: str
    text: str


async def approve(
    session: AsyncSession,
    actor: Principal,
    cipher: PiiCipher,
    app: FoundingApplication,
    *,
    now: datetime,
    base_url: str,
) -> tuple[FoundingApplication, Message]:
    if app.status != FoundingStatus.submitted:
        raise not_reviewable(app)
    phone = cipher.decrypt("phone", app.phone_enc)
    if app.kind == FoundingKind.found:
        org = await create_org(
            session,
            actor,
            code=f"U-{app.credit_code}",
            name=app.union_name or app.enterprise_name + "工会",
            level=OrgLevel.grassroots,
            parent_id=app.reviewer_org_id,
            region_code=app.region_code,
        )
        password = secrets.token_urlsafe(12)
        admin = await create_staff(
            session,
            actor,
            username=admin_username(app.credit_code),
            display_name=cipher.decrypt(NAME_FIELD, app.contact_name_enc),
            password=password,
            grants=[(Role.union_admin, org.id)],
        )
        app.admin_staff_id, org_id, label = admin.id, org.id, "建会邀请"
        text = (
            f"【工会会员卡】{app.enterprise_name}的建会申请已批准，{org.name}已成立。"
            f"管理后台 {base_url}/console ，用户名：{admin.username}，初始密码：{password}。"
            f"请尽快登录，并把入会邀请海报发给职工。"
        )
    else:
        assert app.joint_org_id is not None
        org_id, label = app.joint_org_id, app.enterprise_name[:64]
        text = (
            f"【工会会员卡】{app.enterprise_name}加入联合工会的申请已批准，"
            f"职工可通过邀请链接申请入会：{{invite}}"
        )
    invite = await create_invite(session, actor, org_id=org_id, label=label, valid_days=None)
    app.org_id, app.invite_token = org_id, invite.token
    app.status, app.decided_at, app.decided_by = FoundingStatus.approved, now, actor.username
    app.staff_note = None
    add_step(session, app, "approved", actor.username, now=now)
    audit(session, actor, "founding.approve", app, org_id=str(org_id), invite_id=str(invite.id))
    link = f"{base_url}/m/join?invite={invite.token}"
    return app, Message(phone, text.replace("{invite}", link))

"""Every table that cardsvc owns, imported in one place for Alembic and the tests."""

from cardsvc.cards.models import Card, CardEvent, SigningKey
from cardsvc.kernel.audit import AuditEntry
from cardsvc.kernel.sequences import NumberSequence
from cardsvc.memberauth.consent import ConsentRecord
from cardsvc.members.models import Member
from cardsvc.membership.models import InviteLink, JoinApplication, MembershipEvent, TransferRequest
from cardsvc.orgs.models import Org
from cardsvc.staff.models import RoleGrant, StaffUser

__all__ = [
    "AuditEntry",
    "Card",
    "CardEvent",
    "ConsentRecord",
    "InviteLink",
    "JoinApplication",
    "Member",
    "MembershipEvent",
    "NumberSequence",
    "Org",
    "RoleGrant",
    "SigningKey",
    "StaffUser",
    "TransferRequest",
]

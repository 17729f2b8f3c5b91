"""Every table that cardsvc owns, imported in one place for Alembic and the tests."""

from cardsvc.audit.models import AuditEntry
from cardsvc.members.models import Member, NumberSequence
from cardsvc.orgs.models import Org
from cardsvc.staff.models import RoleGrant, StaffUser

__all__ = ["AuditEntry", "Member", "NumberSequence", "Org", "RoleGrant", "StaffUser"]

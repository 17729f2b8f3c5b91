"""Which role may do what. A role is granted on an org and holds for that org's subtree."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    federation_admin = "federation_admin"
    union_admin = "union_admin"
    benefits_manager = "benefits_manager"
    merchant_manager = "merchant_manager"
    auditor = "auditor"
    service_agent = "service_agent"  # handles members' service requests
    hardship_officer = "hardship_officer"  # hardship records (sensitive) and requests


class Perm(enum.StrEnum):
    org_read = "org.read"
    org_write = "org.write"
    member_read = "member.read"
    member_write = "member.write"
    member_unmask = "member.unmask"
    member_export = "member.export"
    # Data-subject requests (PIPL): export everything held about a member, erase it.
    member_privacy = "member.privacy"
    staff_manage = "staff.manage"
    audit_read = "audit.read"
    benefits_read = "benefits.read"
    benefits_write = "benefits.write"
    merchants_read = "merchants.read"
    merchants_write = "merchants.write"
    reports_read = "reports.read"
    service_handle = "service.handle"
    service_settings = "service.settings"
    hardship_read = "hardship.read"
    hardship_write = "hardship.write"


_ALL = frozenset(Role)
PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.org_read: _ALL,
    Perm.org_write: frozenset({Role.federation_admin, Role.union_admin}),
    Perm.member_read: frozenset(
        {Role.federation_admin, Role.union_admin, Role.benefits_manager, Role.auditor}
    ),
    Perm.member_write: frozenset({Role.federation_admin, Role.union_admin}),
    Perm.member_unmask: frozenset({Role.federation_admin, Role.union_admin}),
    Perm.member_export: frozenset({Role.federation_admin, Role.union_admin, Role.auditor}),
    Perm.member_privacy: frozenset({Role.federation_admin, Role.union_admin}),
    Perm.staff_manage: frozenset({Role.federation_admin, Role.union_admin}),
    Perm.audit_read: frozenset({Role.federation_admin, Role.auditor}),
    Perm.benefits_read: frozenset({Role.federation_admin, Role.benefits_manager, Role.auditor}),
    Perm.benefits_write: frozenset({Role.federation_admin, Role.benefits_manager}),
    Perm.merchants_read: frozenset({Role.federation_admin, Role.merchant_manager, Role.auditor}),
    Perm.merchants_write: frozenset({Role.federation_admin, Role.merchant_manager}),
    Perm.reports_read: _ALL,
    Perm.service_handle: frozenset(
        {Role.federation_admin, Role.union_admin, Role.service_agent, Role.hardship_officer}
    ),
    Perm.service_settings: frozenset({Role.federation_admin, Role.union_admin}),
    # Hardship records are sensitive (PIPL): only the roles that handle them, not auditors.
    Perm.hardship_read: frozenset({Role.federation_admin, Role.union_admin, Role.hardship_officer}),
    Perm.hardship_write: frozenset(
        {Role.federation_admin, Role.union_admin, Role.hardship_officer}
    ),
}

ROLE_LABELS_ZH = {
    Role.federation_admin: "总工会管理员",
    Role.union_admin: "工会管理员",
    Role.benefits_manager: "普惠项目管理员",
    Role.merchant_manager: "商户管理员",
    Role.auditor: "审计员（只读）",
    Role.service_agent: "服务专员",
    Role.hardship_officer: "帮扶专员",
}

"""The staff console (/console/): thin page controllers over the staff domain functions.

Each section is a small module with one controller; ``CONSOLE_CONTROLLERS`` is what the pages
plugin mounts. Handlers take the same ``staff`` dependency as the JSON API (so subtree scoping,
CSRF on mutations and auditing hold) and call the same domain functions, rendering HTML.
"""

from __future__ import annotations

from cardsvc.pages.console.activities import ActivityPages
from cardsvc.pages.console.approvals import ApprovalPages
from cardsvc.pages.console.audit import AuditPages
from cardsvc.pages.console.auth import SignInPages
from cardsvc.pages.console.dashboard import DashboardPages
from cardsvc.pages.console.founding import FoundingPages
from cardsvc.pages.console.hardship import HardshipPages
from cardsvc.pages.console.invites import InvitePages
from cardsvc.pages.console.member_actions import MemberActionPages
from cardsvc.pages.console.members import MemberPages
from cardsvc.pages.console.membership_requests import MembershipRequestPages
from cardsvc.pages.console.merchants import MerchantPages, TerminalPages
from cardsvc.pages.console.orgs import OrgPages
from cardsvc.pages.console.programme_diff import ProgrammeDiffPages
from cardsvc.pages.console.programme_pickers import ProgrammePickerPages
from cardsvc.pages.console.programmes import ProgrammePages
from cardsvc.pages.console.reconciliation import ReconciliationPages
from cardsvc.pages.console.reports import ReportPages
from cardsvc.pages.console.roster import RosterPages
from cardsvc.pages.console.service_levels import ServiceLevelPages
from cardsvc.pages.console.service_requests import ServicePages
from cardsvc.pages.console.settlements import SettlementPages
from cardsvc.pages.console.staff import StaffPages
from cardsvc.pages.console.store_listing import StoreListingPages

CONSOLE_CONTROLLERS: list[type] = [
    SignInPages,
    DashboardPages,
    ApprovalPages,
    ProgrammePages,
    ProgrammeDiffPages,
    ProgrammePickerPages,
    RosterPages,
    MemberPages,
    MemberActionPages,
    MembershipRequestPages,
    InvitePages,
    OrgPages,
    MerchantPages,
    StoreListingPages,
    TerminalPages,
    SettlementPages,
    ReportPages,
    AuditPages,
    ServicePages,
    HardshipPages,
    FoundingPages,
    ActivityPages,
    ServiceLevelPages,
    ReconciliationPages,
    StaffPages,
]

"""The benefits engine's public API: everything other packages may call, and nothing else.

Every function is ``async``, takes an ``AsyncSession`` or ``AsyncConnection`` first and plain
values as keyword arguments, and returns frozen dataclasses (:mod:`benefits.engine.results`).
Write functions are atomic: inside a caller's open transaction they use a savepoint and leave
the commit to the caller; otherwise they commit themselves. Refusals raise
:class:`~benefits.errors.BenefitsError` subclasses with a stable ``code``.

Merchant API: ``quote`` (then ``redact_for_merchant``), ``redeem``, ``find_redemption``,
``reverse``, ``list_redemptions``, ``merchant_settlement``.
Settlement: ``month_figures``, ``reversal_bookings``, ``reversal_booking``, ``statement_states``,
``confirm_statement``, ``mark_paid`` (a confirmed or paid month is frozen).
Staff: ``create_program``, ``update_program``, ``validate_rules``, ``publish_program``,
``pause_program``, ``resume_program``, ``end_program``, ``get_program``, ``list_programs``,
``list_versions``, ``get_version``, ``program_usage``, ``simulate``, ``reconcile``.
Member: ``member_benefits``, ``quote_at_stores`` (what is usable at stores near them),
``list_redemptions(member_id=…)``.
Vouchers at the till: ``voucher_offers``, ``use_voucher``, ``reverse_use``, ``find_use``,
``list_uses`` (the merchant's voucher uses, newest first),
``month_voucher_lines`` (a campaign's uses per merchant and month).
Eligibility alone (for a host's own offers, e.g. activities): ``parse_eligibility``,
``eligibility_to_json``, ``check_eligibility`` (the rule the till's quote applies).
"""

from __future__ import annotations

from benefits.engine.bills import MAX_BILL_REF, bill_ref_problem
from benefits.engine.booking import reversal_booking
from benefits.engine.card_uses import card_uses_since
from benefits.engine.checkout import find_redemption
from benefits.engine.member_view import member_benefits
from benefits.engine.months import month_bounds, month_of, next_month
from benefits.engine.nearby import CounterPrefetch, counter_prefetch, quote_at_stores
from benefits.engine.quote import live_rules, quote, redact_for_merchant, simulate
from benefits.engine.reconcile import reconcile
from benefits.engine.redeem import redeem
from benefits.engine.results import (
    LimitState,
    MemberBenefit,
    PolicyUsage,
    ProgramQuote,
    ProgramRefusal,
    ProgramUsage,
    ProgramView,
    Quote,
    ReconcileReport,
    RedemptionLine,
    RedemptionRecord,
    RedemptionResult,
    ReversalResult,
    SettlementLine,
    VersionView,
)
from benefits.engine.reverse import reverse
from benefits.engine.statements import HEAD_COLUMN_COUNT, REDEMPTION_HEAD
from benefits.errors import (
    AlreadyReversed,
    BelowMinSpend,
    BenefitsError,
    BillStackingConflict,
    BudgetExhausted,
    Conflict,
    FieldError,
    IdempotencyConflict,
    InvalidTransition,
    NotEligible,
    NotFound,
    NotInScope,
    ProgramInactive,
    QuotaExhausted,
    Reason,
    RefusalError,
    StackingConflict,
    TokenReplayed,
    ValidationError,
    VersionImmutable,
)
from benefits.models import SettlementStatus
from benefits.programmes.lifecycle import (
    create_program,
    end_program,
    get_program,
    get_version,
    list_programs,
    list_versions,
    pause_program,
    program_names,
    publish_program,
    resume_program,
    update_program,
    validate_rules,
)
from benefits.programmes.usage import list_redemptions, merchant_settlement, program_usage
from benefits.rules.eligibility import check_eligibility
from benefits.rules.facts import MemberFacts, MerchantContext
from benefits.rules.programme import (
    MEMBER_CATEGORIES,
    BenefitKind,
    Eligibility,
    MerchantCategory,
    eligibility_to_json,
    rules_to_json,
)
from benefits.rules.validation import parse_eligibility
from benefits.settlements.figures import (
    CarriedReversal,
    StatementFigures,
    StatementLine,
    month_figures,
    reversal_bookings,
)
from benefits.settlements.workflow import (
    StatementState,
    confirm_statement,
    mark_paid,
    statement_state,
    statement_states,
)
from benefits.vouchers.offers import OFFERS_ON_CARD, VoucherOffer, carried_offers, voucher_offers
from benefits.vouchers.use import (
    VoucherUseResult,
    find_use,
    list_uses,
    reverse_use,
    use_voucher,
)
from benefits.vouchers.use_lines import VoucherLine, month_voucher_lines

__all__ = [
    "HEAD_COLUMN_COUNT",
    "MAX_BILL_REF",
    "MEMBER_CATEGORIES",
    "OFFERS_ON_CARD",
    "REDEMPTION_HEAD",
    "AlreadyReversed",
    "BelowMinSpend",
    "BenefitKind",
    "BenefitsError",
    "BillStackingConflict",
    "BudgetExhausted",
    "CarriedReversal",
    "Conflict",
    "CounterPrefetch",
    "Eligibility",
    "FieldError",
    "IdempotencyConflict",
    "InvalidTransition",
    "LimitState",
    "MemberBenefit",
    "MemberFacts",
    "MerchantCategory",
    "MerchantContext",
    "NotEligible",
    "NotFound",
    "NotInScope",
    "PolicyUsage",
    "ProgramInactive",
    "ProgramQuote",
    "ProgramRefusal",
    "ProgramUsage",
    "ProgramView",
    "QuotaExhausted",
    "Quote",
    "Reason",
    "ReconcileReport",
    "RedemptionLine",
    "RedemptionRecord",
    "RedemptionResult",
    "RefusalError",
    "ReversalResult",
    "SettlementLine",
    "SettlementStatus",
    "StackingConflict",
    "StatementFigures",
    "StatementLine",
    "StatementState",
    "TokenReplayed",
    "ValidationError",
    "VersionImmutable",
    "VersionView",
    "VoucherLine",
    "VoucherOffer",
    "VoucherUseResult",
    "bill_ref_problem",
    "card_uses_since",
    "carried_offers",
    "check_eligibility",
    "confirm_statement",
    "counter_prefetch",
    "create_program",
    "eligibility_to_json",
    "end_program",
    "find_redemption",
    "find_use",
    "get_program",
    "get_version",
    "list_programs",
    "list_redemptions",
    "list_uses",
    "list_versions",
    "live_rules",
    "mark_paid",
    "member_benefits",
    "merchant_settlement",
    "month_bounds",
    "month_figures",
    "month_of",
    "month_voucher_lines",
    "next_month",
    "parse_eligibility",
    "pause_program",
    "program_names",
    "program_usage",
    "publish_program",
    "quote",
    "quote_at_stores",
    "reconcile",
    "redact_for_merchant",
    "redeem",
    "resume_program",
    "reversal_booking",
    "reversal_bookings",
    "reverse",
    "reverse_use",
    "rules_to_json",
    "simulate",
    "statement_state",
    "statement_states",
    "update_program",
    "use_voucher",
    "validate_rules",
    "voucher_offers",
]

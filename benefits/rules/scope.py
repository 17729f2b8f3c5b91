"""Where a programme is accepted: a pure check of a point of sale against a programme's scope.

Every list the scope sets must match (they narrow each other); an empty list places no
restriction. Reason codes: ``merchant_not_listed``, ``merchant_category_not_listed``,
``region_not_in_scope``, ``store_not_listed``.
"""

from __future__ import annotations

from benefits.errors import Reason
from benefits.rules.eligibility import region_matches
from benefits.rules.facts import MerchantContext
from benefits.rules.programme import Scope


def check_scope(scope: Scope, merchant: MerchantContext) -> list[Reason]:
    """Reasons the programme is not accepted at ``merchant``'s store; empty if it is."""
    reasons: list[Reason] = []
    if scope.merchant_ids and merchant.merchant_id not in scope.merchant_ids:
        reasons.append(
            Reason(
                "merchant_not_listed", "该商户不是项目合作商户", "This merchant is not a partner"
            )
        )
    if scope.merchant_categories and merchant.category not in scope.merchant_categories:
        reasons.append(
            Reason(
                "merchant_category_not_listed",
                "该商户类别不适用",
                "This kind of merchant is not covered",
                {"merchant_categories": [c.value for c in scope.merchant_categories]},
            )
        )
    if scope.regions and not region_matches(merchant.region, scope.regions):
        reasons.append(Reason("region_not_in_scope", "该地区不适用", "This region is not covered"))
    if scope.store_ids and merchant.store_id not in scope.store_ids:
        reasons.append(Reason("store_not_listed", "该门店不适用", "This store is not covered"))
    return reasons

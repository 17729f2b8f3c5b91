"""The member H5 pages (/m/): sign-in, joining, the card with its rotating QR, benefits,
history, transfer and leaving, service requests and the inbox, activities and training. Handlers call the same domain functions as the member JSON API
(docs/membership.md) with the same dependencies, and render HTML."""

from __future__ import annotations

from cardsvc.pages.member.account import MemberAccountController
from cardsvc.pages.member.activities import MemberActivitiesController
from cardsvc.pages.member.auth import MemberSignInController
from cardsvc.pages.member.benefits import MemberBenefitsController
from cardsvc.pages.member.card import MemberCardController
from cardsvc.pages.member.founding import MemberFoundingController
from cardsvc.pages.member.join import MemberJoinController
from cardsvc.pages.member.nearby import MemberNearbyController
from cardsvc.pages.member.redeemed import MemberRedeemedController
from cardsvc.pages.member.requests import MemberRequestsController
from cardsvc.pages.member.terms import MemberTermsController
from cardsvc.pages.member.vouchers import MemberVouchersController

MEMBER_CONTROLLERS: list[type] = [
    MemberSignInController,
    MemberJoinController,
    MemberCardController,
    MemberBenefitsController,
    MemberNearbyController,
    MemberAccountController,
    MemberRequestsController,
    MemberActivitiesController,
    MemberRedeemedController,
    MemberTermsController,
    MemberVouchersController,
    MemberFoundingController,
]

"""The composition root: the only module that wires cardsvc, benefits and merchants together."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Request, Response
from litestar.datastructures import MutableScopeHeaders, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import Message, Scope
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from swagger_ui_bundle import swagger_ui_path

from benefits.access import MemberRef
from benefits.counters import set_budget_stripes
from benefits.demo import seed_programs
from benefits.errors import BenefitsError
from benefits.facts import MemberFacts
from benefits.models import Program
from benefits.plugin import BenefitsPlugin
from benefits.report_routes import BenefitReportController
from benefits.service import list_redemptions, member_benefits
from cardsvc.audit.routes import AuditController
from cardsvc.audit.service import record
from cardsvc.cards.demo import seed_cards
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.published import PublishedCache
from cardsvc.cards.routes import MemberCardController, MyCardController, PublicCardController
from cardsvc.cards.startup import signing_key_hook
from cardsvc.cli import UnionCardCLIPlugin
from cardsvc.db import import_all_models, make_engine, sqlalchemy_config
from cardsvc.demo.seed import DemoStep
from cardsvc.errors import (
    AppError,
    FieldError,
    ProblemDocsPlugin,
    exception_handlers,
    problem_response,
)
from cardsvc.hardship.models import HardshipRecord
from cardsvc.hardship.routes import HardshipController, MyHardshipController
from cardsvc.health import live, ready
from cardsvc.inbox.routes import MyInboxController, StaffInboxController
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kv import RateLimiter, make_kv
from cardsvc.logs import configure_logging
from cardsvc.memberauth.otp import OtpPolicy
from cardsvc.memberauth.routes import MemberAuthController
from cardsvc.memberauth.senders import make_sender
from cardsvc.memberauth.sessions import provide_me, provide_member_session
from cardsvc.members.models import Member
from cardsvc.members.routes import MemberController
from cardsvc.membership.routes import (
    ApprovalController,
    InviteController,
    JoinController,
    MyMembershipController,
)
from cardsvc.orgs.models import Org
from cardsvc.orgs.routes import OrgController
from cardsvc.orgs.service import register_path_columns
from cardsvc.pages.member.ports import BenefitsFunctions, member_benefits_provider
from cardsvc.pages.plugin import PagesPlugin
from cardsvc.pii import PiiCipher
from cardsvc.privacy.parts import EncryptedTable, PrivacyParts, cardsvc_parts
from cardsvc.privacy.routes import MyDataController, PrivacyController
from cardsvc.reports.host import report_host_provider
from cardsvc.reports.routes import ExportController, ReportController
from cardsvc.roster.routes import RosterController
from cardsvc.servicereq.demo import seed_service_requests
from cardsvc.servicereq.models import ServiceLevel, ServiceRequest
from cardsvc.servicereq.privacy import servicereq_parts
from cardsvc.servicereq.routes import (
    MyServiceRequestController,
    ServiceLevelController,
    ServiceRequestController,
)
from cardsvc.settings import Settings, get_settings
from cardsvc.staff.auth import provide_staff
from cardsvc.staff.principal import Principal
from cardsvc.staff.routes import SessionController, StaffController
from cardsvc.staff.service import configure_password_hashing
from cardsvc.stores import make_redis, make_store_registry
from cardsvc.web import REQUEST_ID_HEADER, SwaggerPage, request_id_middleware, security_headers
from merchants.demo import seed_merchants
from merchants.models import Merchant, Store
from merchants.plugin import MerchantsPlugin
from merchants.privacy import erase_member_scans, member_scans, purge_scan_batch
from merchants.service import BANK_FIELD

logger = logging.getLogger("unioncard.app")


def demo_steps() -> list[DemoStep]:
    """Demo data of the other packages, seeded after the federation (``unioncard demo seed``)."""
    return [seed_cards, seed_merchants, seed_programs, seed_service_requests]


def _benefits_error(request: Request[Any, Any, Any], exc: BenefitsError) -> Response[Any]:
    """The engine has its own error type (it may not import cardsvc); render it the same way."""
    err = AppError(
        exc.code,
        exc.message_zh,
        exc.message_en,
        status=exc.status,
        errors=[FieldError(e.field, e.reason_zh, e.reason_en) for e in exc.errors],
        **exc.extra,
    )
    return problem_response(request, err)


def _member_facts(m: Member) -> MemberFacts:
    return MemberFacts(
        id=m.id,
        status=str(m.status),
        org_path=m.org_path,
        categories=frozenset(m.categories or ()),
        hardship_level=m.hardship_level,
        joined_on=m.joined_on,
        birth_date=m.birth_date,
        region=m.region,
    )


async def provide_member_facts(me: Member) -> MemberFacts:
    """Dependency ``member_facts``: the signed-in member as the benefits engine sees them."""
    return _member_facts(me)


class _BenefitsDirectory:
    """Org paths and members for the benefits staff API (``benefits.access.Directory``)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def org_path(self, org_id: uuid.UUID) -> str | None:
        return await self._session.scalar(select(Org.path).where(Org.id == org_id))

    async def find_member(
        self, *, member_id: uuid.UUID | None = None, member_no: str | None = None
    ) -> MemberRef | None:
        cond = Member.id == member_id if member_id is not None else Member.member_no == member_no
        m = await self._session.scalar(select(Member).where(cond))
        return MemberRef(m.member_no, _member_facts(m)) if m is not None else None

    async def sample_members(self, org_path: str, limit: int) -> list[MemberRef]:
        rows = await self._session.scalars(
            select(Member)
            .where(Member.org_path.startswith(org_path, autoescape=True))
            .order_by(Member.member_no)
            .limit(limit)
        )
        return [MemberRef(m.member_no, _member_facts(m)) for m in rows]


async def provide_benefits_directory(db_session: AsyncSession) -> _BenefitsDirectory:
    return _BenefitsDirectory(db_session)


async def provide_benefits_audit(staff: Principal, db_session: AsyncSession) -> Callable[..., None]:
    """Dependency ``benefits_audit``: audit rows in the request's transaction, as ``staff``."""

    def audit(
        action: str,
        target_type: str,
        target_id: uuid.UUID | str | None,
        org_path: str | None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        record(
            db_session,
            staff,
            action,
            target_type=target_type,
            target_id=target_id,
            org_path=org_path,
            summary=summary,
        )

    return audit


async def _merchant_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Merchants' display names for the benefits reports (the engine cannot read them)."""
    rows = await session.execute(
        select(Merchant.id, Merchant.display_name).where(Merchant.id.in_(list(ids)))
    )
    return {r[0]: r[1] for r in rows}


async def _program_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Program.id, Program.name).where(Program.id.in_(list(ids))))
    return {r[0]: r[1] for r in rows}


async def _store_names(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await session.execute(select(Store.id, Store.name).where(Store.id.in_(list(ids))))
    return {r[0]: r[1] for r in rows}


# The member pages' view of the engine and the merchants (cardsvc.pages may not import them).
_MEMBER_BENEFITS = BenefitsFunctions(
    facts=_member_facts,
    member_benefits=member_benefits,
    list_redemptions=list_redemptions,
    program_names=_program_names,
    merchant_names=_merchant_names,
    store_names=_store_names,
)


async def _request_id_header(message: Message, scope: Scope) -> None:
    """Every response carries X-Request-ID, also those of requests that matched no route."""
    if message["type"] == "http.response.start":
        rid = scope.get("state", {}).get("request_id")
        headers = MutableScopeHeaders.from_message(message)
        if rid and REQUEST_ID_HEADER not in headers:
            headers[REQUEST_ID_HEADER] = rid


async def _member_redemptions(session: AsyncSession, member_id: uuid.UUID) -> list[dict[str, Any]]:
    """A member's ledger rows (with their reversal time) for the access export."""
    out: list[dict[str, Any]] = []
    while True:
        page = await list_redemptions(session, member_id=member_id, limit=1000, offset=len(out))
        out += [
            {
                "id": r.id,
                "at": r.occurred_at,
                "program": r.program_code,
                "merchant_id": r.merchant_id,
                "store_id": r.store_id,
                "amount_fen": r.amount_fen,
                "discount_fen": r.discount_fen,
                "payable_fen": r.payable_fen,
                "units": r.units,
                "subsidy_fen": r.subsidy_fen,
                "reversed_at": r.reversed_at,
            }
            for r in page
        ]
        if len(page) < 1000:
            return out


def privacy_parts() -> PrivacyParts:
    """Personal data of every package, for retention, erasure, access export and key rotation.

    The ledger is kept on erasure (it holds amounts under the member's id, nothing else).
    """
    return (
        cardsvc_parts()
        + servicereq_parts()
        + PrivacyParts(
            export_sections={"redemptions": _member_redemptions, "scans": member_scans},
            erase_hooks={"scans_deleted": erase_member_scans},
            purges={"scan_log": purge_scan_batch},
            encrypted=(
                EncryptedTable(
                    Merchant.__table__,  # type: ignore[arg-type]
                    {"bank_account_enc": BANK_FIELD},
                    "data_key_id",
                ),
            ),
        )
    )


# Programmes and merchants copy their owning org's path: they move with the org.
register_path_columns(Program.owner_org_path, Merchant.org_path)
register_path_columns(
    ServiceRequest.org_path,
    ServiceRequest.handling_org_path,
    ServiceRequest.escalated_org_path,  # type: ignore[arg-type]
    ServiceLevel.org_path,
    HardshipRecord.org_path,
    HardshipRecord.approver_org_path,
)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    import_all_models()
    engine = make_engine(
        settings.database_url, pool_size=settings.db_pool_size, pre_ping=settings.db_pre_ping
    )
    set_budget_stripes(settings.budget_stripes)
    configure_password_hashing(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    redis = make_redis(settings)
    stores = make_store_registry(redis)
    kv = make_kv(redis)
    if settings.production and settings.sms_sender == "log":
        logger.warning("UNIONCARD_SMS_SENDER=log: sign-in codes go to the server log")
    jobs = JobRunner(
        engine, settings, all_handlers(), services={**services_for(settings), "kv": kv}
    )
    # Periodic jobs (the privacy retention purge): first tick after a minute, then every minute.
    schedule = Scheduler(engine, schedule_for(settings), runner=jobs)
    state = State(
        {
            "jobs": jobs,
            "settings": settings,
            "engine": engine,
            "redis": redis,
            "stores": stores,
            "kv": kv,
            "limiter": RateLimiter(kv),
            "sender": make_sender(settings.sms_sender),
            "otp_policy": OtpPolicy(
                ttl=settings.otp_ttl_seconds,
                max_attempts=settings.otp_max_attempts,
                per_phone_hour=settings.otp_per_phone_hour,
                per_ip_hour=settings.otp_per_ip_hour,
            ),
            "cipher": PiiCipher.from_settings(settings),
            "published": PublishedCache(settings.card_publish_cache_seconds),
        }
    )

    # Verifying keys and the decrypted signer, reloaded every minute (rotations by the CLI).
    state["keyring"] = KeyRing(state.cipher)

    async def _close_redis() -> None:
        if redis is not None:
            await redis.aclose()

    return Litestar(
        route_handlers=[
            live,
            ready,
            SessionController,
            StaffController,
            OrgController,
            MemberController,
            AuditController,
            MemberAuthController,
            RosterController,
            JoinController,
            MyMembershipController,
            ApprovalController,
            InviteController,
            MyCardController,
            MemberCardController,
            PublicCardController,
            ReportController,
            ExportController,
            BenefitReportController,
            PrivacyController,
            MyDataController,
            MyServiceRequestController,
            ServiceRequestController,
            ServiceLevelController,
            HardshipController,
            MyHardshipController,
            MyInboxController,
            StaffInboxController,
            create_static_files_router(
                path="/static/swagger", directories=[swagger_ui_path], include_in_schema=False
            ),
        ],
        plugins=[
            SQLAlchemyPlugin(config=sqlalchemy_config(settings, engine)),
            UnionCardCLIPlugin(),
            ProblemDocsPlugin(),
            MerchantsPlugin(),
            PagesPlugin(settings.time_zone),
            BenefitsPlugin(
                member_facts=provide_member_facts,
                directory=provide_benefits_directory,
                audit=provide_benefits_audit,
            ),
        ],
        dependencies={
            "staff": Provide(provide_staff),
            "member_session": Provide(provide_member_session),
            "me": Provide(provide_me),
            "report_host": Provide(report_host_provider(_merchant_names)),
            "member_benefits_view": Provide(member_benefits_provider(_MEMBER_BENEFITS)),
        },
        exception_handlers={**exception_handlers, BenefitsError: _benefits_error},
        before_send=[_request_id_header, security_headers],
        middleware=[request_id_middleware],
        stores=stores,
        state=state,
        on_startup=[
            signing_key_hook(engine, state.cipher, production=settings.production),
            *([jobs.start] if settings.job_runner else []),
            *([schedule.start] if settings.job_runner else []),
        ],
        on_shutdown=[schedule.stop, jobs.stop, _close_redis],
        openapi_config=OpenAPIConfig(
            title="UnionCard API",
            version="1.0.0",
            description=(
                "工会会员卡与普惠服务 API。错误均为 RFC 9457 problem details,带稳定的 `code`。\n\n"
                "Union membership cards and inclusive benefits. Every error is RFC 9457 problem "
                "details with a stable `code`."
            ),
            path="/schema",
            # Served by the app itself: federations run on intranets without CDN access.
            render_plugins=[
                SwaggerPage(
                    path="/",
                    favicon_url="/static/swagger/favicon-32x32.png",
                    js_url="/static/swagger/swagger-ui-bundle.js",
                    css_url="/static/swagger/swagger-ui.css",
                    standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                )
            ],
            components=Components(
                security_schemes={
                    "terminalKey": SecurityScheme(
                        type="http", scheme="bearer", description="Terminal API key"
                    ),
                    "staffSession": SecurityScheme(
                        type="apiKey", name="uc_staff", security_scheme_in="cookie"
                    ),
                }
            ),
        ),
        debug=False,
    )

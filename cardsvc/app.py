"""The composition root: the only module that wires cardsvc, benefits and merchants together."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import Any

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from sqlalchemy.ext.asyncio import AsyncEngine
from swagger_ui_bundle import swagger_ui_path

from benefits.engine.counters import set_budget_stripes
from benefits.plugin import BenefitsPlugin
from benefits.routes.reports import BenefitReportController
from benefits.vouchers.admission import make_admission
from cardsvc.activities.routes import ROUTE_HANDLERS as ACTIVITY_ROUTES
from cardsvc.audit.routes import AuditController
from cardsvc.cards.keys import KeyRing
from cardsvc.cards.published import PublishedCache
from cardsvc.cards.routes import MemberCardController, MyCardController, PublicCardController
from cardsvc.cards.startup import signing_key_hook
from cardsvc.cli import UnionCardCLIPlugin
from cardsvc.flows.benefits_host import (
    provide_benefits_audit,
    provide_benefits_directory,
    provide_member_facts,
    provide_voucher_admission,
    provide_voucher_claimant,
    provide_voucher_member,
)
from cardsvc.flows.nearby_routes import MyNearbyController
from cardsvc.founding.routes import (
    EnterpriseRegisterController,
    FoundingPublicController,
    FoundingReviewController,
    MyFoundingController,
)
from cardsvc.inbox.routes import MyInboxController, StaffInboxController
from cardsvc.jobs.kinds import all_handlers, schedule_for, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.jobs.schedule import Scheduler
from cardsvc.kernel.db import import_all_models, settings_engine, sqlalchemy_config
from cardsvc.kernel.health import live, ready
from cardsvc.kernel.kv import KV, make_kv
from cardsvc.kernel.logs import configure_logging
from cardsvc.kernel.openapi import ContractJson, ProblemDocsPlugin, operation_id
from cardsvc.kernel.pii import PiiCipher
from cardsvc.kernel.ratelimit import RateLimiter
from cardsvc.kernel.replicas import STATE_KEY as REPLICAS_KEY
from cardsvc.kernel.replicas import provide_read_session, read_router
from cardsvc.kernel.settings import Settings, get_settings
from cardsvc.kernel.stores import make_redis, make_store_registry
from cardsvc.kernel.web import (
    JsonRequest,
    StrictJsonPlugin,
    SwaggerPage,
    forwarded_headers,
    request_id_middleware,
    response_headers,
)
from cardsvc.memberauth.otp import OtpPolicy
from cardsvc.memberauth.routes import MemberAuthController
from cardsvc.memberauth.senders import make_sender
from cardsvc.memberauth.sessions import provide_me, provide_member_session
from cardsvc.members.routes import MemberController
from cardsvc.membership.routes import (
    ApprovalController,
    InviteController,
    JoinController,
    MyMembershipController,
)
from cardsvc.orgs.routes import OrgController
from cardsvc.pages.errors import app_exception_handlers
from cardsvc.pages.plugin import PagesPlugin
from cardsvc.privacy.routes import MyDataController, PrivacyController
from cardsvc.reports.host import report_host_provider
from cardsvc.reports.routes import ExportController, ReportController
from cardsvc.roster.routes import RosterController
from cardsvc.servicereq.hardship.routes import HardshipController, MyHardshipController
from cardsvc.servicereq.routes import (
    MyServiceRequestController,
    ServiceLevelController,
    ServiceRequestController,
)
from cardsvc.staff.account_routes import StaffAccountController
from cardsvc.staff.auth import provide_staff
from cardsvc.staff.routes import SessionController, StaffController
from cardsvc.staff.service import configure_password_hashing
from cardsvc.wiring import wire
from merchants.plugin import MerchantsPlugin
from merchants.public import merchant_names

logger = logging.getLogger("unioncard.app")


ROUTE_HANDLERS: list[Any] = [
    live,
    ready,
    SessionController,
    StaffController,
    StaffAccountController,
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
    MyNearbyController,
    MyFoundingController,
    FoundingPublicController,
    FoundingReviewController,
    EnterpriseRegisterController,
    *ACTIVITY_ROUTES,
    create_static_files_router(
        path="/static/swagger", directories=[swagger_ui_path], include_in_schema=False
    ),
]


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="UnionCard API",
        version="1.0.0",
        description=(
            "工会会员卡与普惠服务 API。错误均为 RFC 9457 problem details，带稳定的 `code`。\n\n"
            "Union membership cards and inclusive benefits. Every error is RFC 9457 problem "
            "details with a stable `code`."
        ),
        path="/schema",
        operation_id_creator=operation_id,
        # Served by the app itself: federations run on intranets without CDN access.
        render_plugins=[
            ContractJson(),
            SwaggerPage(
                path="/",
                favicon_url="/static/swagger/favicon-32x32.png",
                js_url="/static/swagger/swagger-ui-bundle.js",
                css_url="/static/swagger/swagger-ui.css",
                standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
            ),
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
    )


def app_state(
    settings: Settings, engine: AsyncEngine, redis: Any, kv: KV, jobs: JobRunner
) -> State:
    """What every request may reach through ``state``: settings, stores, keys, limits."""
    state = State(
        {
            "jobs": jobs,
            "settings": settings,
            "engine": engine,
            "redis": redis,
            "stores": make_store_registry(redis),
            "kv": kv,
            "voucher_admission": make_admission(redis),
            "limiter": RateLimiter(redis),
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
    return state


def _freeze_startup_heap() -> None:
    """Move what startup built (modules, routes, schemas, mappers) out of the collector's
    sight: each full collection would otherwise walk it again, a few milliseconds every few
    hundred requests. Production only: a test process builds many apps and would keep them."""
    gc.collect()
    gc.freeze()


@dataclass
class AppRuntime:
    """What one app holds for its settings: the engine, Redis, the state every request reaches,
    and the hooks that start and stop its jobs. The routes do not depend on it, so a process
    that needs many apps (the tests) can build the routes once and give each its own runtime."""

    settings: Settings
    engine: AsyncEngine
    state: State
    on_startup: list[Any]
    on_shutdown: list[Any]


def app_runtime(settings: Settings) -> AppRuntime:
    wire()
    configure_logging(settings.log_format, settings.log_level)
    import_all_models()
    engine = settings_engine(settings)
    set_budget_stripes(settings.budget_stripes)
    configure_password_hashing(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
    )
    redis = make_redis(settings)
    if settings.production and settings.sms_sender == "log":
        logger.warning("UNIONCARD_SMS_SENDER=log: sign-in codes go to the server log")
    kv = make_kv(redis)
    jobs = JobRunner(
        engine, settings, all_handlers(), services={**services_for(settings), "kv": kv}
    )
    # Periodic jobs (the privacy retention purge): first tick after a minute, then every minute.
    schedule = Scheduler(engine, schedule_for(settings), runner=jobs)
    state = app_state(settings, engine, redis, kv, jobs)
    # The vouchers' lapse job rebuilds the same claim admission store the requests use.
    jobs.services["voucher_admission"] = state.voucher_admission
    state[REPLICAS_KEY] = reads = read_router(settings, engine, kv)

    async def _close_redis() -> None:
        if redis is not None:
            await redis.aclose()

    return AppRuntime(
        settings=settings,
        engine=engine,
        state=state,
        on_startup=[
            signing_key_hook(engine, state.cipher, production=settings.production),
            *([jobs.start] if settings.job_runner else []),
            *([schedule.start] if settings.job_runner else []),
            *([_freeze_startup_heap] if settings.production else []),
        ],
        on_shutdown=[schedule.stop, jobs.stop, _close_redis, reads.dispose],
    )


def create_app(settings: Settings | None = None) -> Litestar:
    return app_from(app_runtime(settings or get_settings()))


def app_from(runtime: AppRuntime) -> Litestar:
    """The app: routes, plugins and middleware around one runtime. Of the settings, only
    ``trusted_proxies`` and ``time_zone`` shape the app itself; the rest is read from the
    runtime's state on each request."""
    settings = runtime.settings
    return Litestar(
        route_handlers=ROUTE_HANDLERS,
        plugins=[
            SQLAlchemyPlugin(config=sqlalchemy_config(settings, runtime.engine)),
            UnionCardCLIPlugin(),
            ProblemDocsPlugin(),
            StrictJsonPlugin(),
            MerchantsPlugin(),
            PagesPlugin(settings.time_zone),
            BenefitsPlugin(
                member_facts=provide_member_facts,
                directory=provide_benefits_directory,
                audit=provide_benefits_audit,
                voucher_member=provide_voucher_member,
                voucher_admission=provide_voucher_admission,
                voucher_claimant=provide_voucher_claimant,
            ),
        ],
        dependencies={
            "staff": Provide(provide_staff),
            "member_session": Provide(provide_member_session),
            "me": Provide(provide_me),
            "report_host": Provide(report_host_provider(merchant_names)),
            "read_session": Provide(provide_read_session),
        },
        # Problem details for API clients, an error page for browsers (cardsvc.pages.errors).
        exception_handlers=app_exception_handlers,
        before_send=[response_headers],
        middleware=[forwarded_headers(settings.trusted_proxies), request_id_middleware],
        request_class=JsonRequest,
        stores=runtime.state.stores,
        state=runtime.state,
        on_startup=runtime.on_startup,
        on_shutdown=runtime.on_shutdown,
        openapi_config=openapi_config(),
        debug=False,
    )

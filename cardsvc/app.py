"""The composition root: the only module that wires cardsvc, benefits and merchants together."""

from __future__ import annotations

import logging

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path

from cardsvc.audit.routes import AuditController
from cardsvc.cli import UnionCardCLIPlugin
from cardsvc.db import import_all_models, make_engine, sqlalchemy_config
from cardsvc.demo.seed import DemoStep
from cardsvc.errors import exception_handlers
from cardsvc.health import live, ready
from cardsvc.kv import RateLimiter, make_kv
from cardsvc.logs import configure_logging
from cardsvc.memberauth.otp import OtpPolicy
from cardsvc.memberauth.routes import MemberAuthController
from cardsvc.memberauth.senders import make_sender
from cardsvc.memberauth.sessions import provide_me, provide_member_session
from cardsvc.members.routes import MemberController
from cardsvc.orgs.routes import OrgController
from cardsvc.pii import PiiCipher
from cardsvc.settings import Settings, get_settings
from cardsvc.staff.auth import provide_staff
from cardsvc.staff.routes import SessionController, StaffController
from cardsvc.stores import make_redis, make_store_registry
from cardsvc.web import request_id_middleware

logger = logging.getLogger("unioncard.app")


def demo_steps() -> list[DemoStep]:
    """Demo data of the other packages, seeded after the federation (``unioncard demo seed``)."""
    return []


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level)
    import_all_models()
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    redis = make_redis(settings)
    stores = make_store_registry(redis)
    kv = make_kv(redis)
    if settings.production and settings.sms_sender == "log":
        logger.warning("UNIONCARD_SMS_SENDER=log: sign-in codes go to the server log")
    state = State(
        {
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
        }
    )

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
            create_static_files_router(
                path="/static/swagger", directories=[swagger_ui_path], include_in_schema=False
            ),
        ],
        plugins=[
            SQLAlchemyPlugin(config=sqlalchemy_config(settings, engine)),
            UnionCardCLIPlugin(),
        ],
        dependencies={
            "staff": Provide(provide_staff),
            "member_session": Provide(provide_member_session),
            "me": Provide(provide_me),
        },
        exception_handlers=exception_handlers,
        middleware=[request_id_middleware],
        stores=stores,
        state=state,
        on_shutdown=[_close_redis],
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
                SwaggerRenderPlugin(
                    path="/",
                    favicon="<link rel='icon' href='data:,'>",
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

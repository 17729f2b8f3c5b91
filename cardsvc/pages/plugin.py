"""Mounts the pages: templates, static assets and each area's controllers."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.datastructures import CacheControlHeader
from litestar.plugins import InitPluginProtocol
from litestar.plugins.htmx import HTMXPlugin
from litestar.static_files import create_static_files_router

from cardsvc.pages.console import CONSOLE_CONTROLLERS
from cardsvc.pages.home import HomeController
from cardsvc.pages.member import MEMBER_CONTROLLERS
from cardsvc.pages.shop import ShopController
from cardsvc.pages.templating import ASSETS_PATH, STATIC, template_config
from cardsvc.pages.verify import CertificateVerifyController

# Each area adds its controllers here (member /m/, shop /shop/, console /console/).
PAGE_CONTROLLERS: list[type] = [
    HomeController,
    *MEMBER_CONTROLLERS,
    ShopController,
    *CONSOLE_CONTROLLERS,
    CertificateVerifyController,
]


class PagesPlugin(InitPluginProtocol):
    def __init__(self, time_zone: str) -> None:
        self.time_zone = time_zone

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.template_config = template_config(self.time_zone)
        app_config.route_handlers.extend(PAGE_CONTROLLERS)
        app_config.route_handlers.append(
            create_static_files_router(
                path=ASSETS_PATH,
                directories=[STATIC],
                include_in_schema=False,
                # URLs carry a content hash (templating.asset): cache for a day.
                cache_control=CacheControlHeader(max_age=86400, public=True),
            )
        )
        app_config.plugins.append(HTMXPlugin())
        return app_config

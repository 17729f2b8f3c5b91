"""The merchants package as one Litestar plugin: routes, the ``terminal`` dependency, the CLI.

``cardsvc/app.py`` (the composition root) adds ``MerchantsPlugin()`` to its plugins. The
plugin reads ``settings`` and ``redis`` from the app state that the root provides and puts
the terminal gate (key cache + rate limiter) into it as ``terminal_gate``.
"""

from __future__ import annotations

from click import Group
from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.plugins import CLIPlugin, InitPluginProtocol

from merchants.config import MerchantConfig
from merchants.terminal.auth import GATE_STATE_KEY, TerminalGate, provide_terminal
from merchants.terminal.wiring import STATE_KEY


async def _flush_scan_log(app: Litestar) -> None:
    """Write the scan-log rows still queued in this worker before it exits."""
    services = app.state.get(STATE_KEY)
    if services is not None and services.scan_log is not None:
        await services.scan_log.close()


class MerchantsPlugin(InitPluginProtocol, CLIPlugin):
    def __init__(self, config: MerchantConfig | None = None) -> None:
        self._config = config

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from merchants.directory.routes import (
            StoreDirectoryController,
            StoreImportController,
            StoreListingController,
            StorePhotoController,
        )
        from merchants.onboarding.routes import (
            MerchantController,
            StaffRedemptionController,
            TerminalAdminController,
        )
        from merchants.onboarding.store_routes import StoreAdminController
        from merchants.settlements.routes import SettlementStatementController
        from merchants.terminal.routes import TerminalRedeemController, TerminalSelfController
        from merchants.terminal.voucher_routes import TerminalVoucherController

        self.bind_state(app_config.state)
        app_config.route_handlers.extend(
            [
                MerchantController,
                TerminalAdminController,
                StoreAdminController,
                StoreDirectoryController,
                StoreListingController,
                StoreImportController,
                StorePhotoController,
                TerminalSelfController,
                TerminalRedeemController,
                TerminalVoucherController,
                StaffRedemptionController,
                SettlementStatementController,
            ]
        )
        app_config.dependencies.setdefault("terminal", Provide(provide_terminal))
        app_config.on_shutdown.append(_flush_scan_log)
        return app_config

    def bind_state(self, state: State) -> None:
        """Put the terminal gate for the state's settings and Redis into the state: at init, and
        again when the app is given a new runtime (cardsvc.app.AppRuntime)."""
        config = self._config or MerchantConfig.from_settings(state.get("settings"))
        state[GATE_STATE_KEY] = TerminalGate(config, state.get("redis"))

    def on_cli_init(self, cli: Group) -> None:
        from merchants.cli import merchants_group

        cli.add_command(merchants_group)

"""The benefits package as one Litestar plugin: the staff and member routes and the CLI.

``cardsvc/app.py`` (the composition root) adds ``BenefitsPlugin(...)`` to its plugins and
hands in the providers of what the engine cannot know itself (it may not import cardsvc):

* ``member_facts``: the signed-in member as :class:`~benefits.rules.facts.MemberFacts`;
* ``benefits_directory``: a :class:`~benefits.access.Directory` (org paths, member lookups);
* ``benefits_audit``: an :class:`~benefits.access.Audit` writing to the request's transaction;
* ``voucher_member``: a loader of the signed-in member's facts, called only when needed;
* ``voucher_admission``: the claim admission store (:mod:`benefits.vouchers.admission`);
* ``voucher_claimant``: both of those in one :class:`~benefits.vouchers.claims.Claimant` for
  the claim API (one dependency on the storm's path, given ``db_session`` and nothing else
  the route asks for, so that Litestar resolves the two in turn, without a task group).

The ``staff`` and ``db_session`` dependencies are the app's own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from click import Group
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import CLIPlugin, InitPluginProtocol


class BenefitsPlugin(InitPluginProtocol, CLIPlugin):
    def __init__(
        self,
        *,
        member_facts: Callable[..., Any],
        directory: Callable[..., Any],
        audit: Callable[..., Any],
        voucher_member: Callable[..., Any],
        voucher_admission: Callable[..., Any],
        voucher_claimant: Callable[..., Any],
    ) -> None:
        self._providers = {
            "member_facts": member_facts,
            "benefits_directory": directory,
            "benefits_audit": audit,
            "voucher_member": voucher_member,
            "voucher_admission": voucher_admission,
            "voucher_claimant": voucher_claimant,
        }

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        from benefits.routes.member import MyBenefitsController
        from benefits.routes.my_vouchers import MyVouchersController
        from benefits.routes.programmes import ProgramController
        from benefits.routes.vouchers import VoucherCampaignController

        app_config.route_handlers.extend(
            [
                ProgramController,
                MyBenefitsController,
                VoucherCampaignController,
                MyVouchersController,
            ]
        )
        for name, fn in self._providers.items():
            app_config.dependencies.setdefault(name, Provide(fn))
        return app_config

    def on_cli_init(self, cli: Group) -> None:
        from benefits.cli import benefits_group

        cli.add_command(benefits_group)

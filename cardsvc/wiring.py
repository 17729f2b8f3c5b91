"""What the composition root plugs into the packages below it, in one place.

The domain packages never import a package above them; where one must act on another's behalf
it offers a registry and this module fills it in:

* a member's status change → the card follows (``members.service.on_status_change``);
* an org may close only without live members (``orgs.service.register_close_check``);
* the background job kinds and their schedule (``jobs.kinds.register_kind``), among them the
  monthly partitions made ahead (``flows.partitions``), the activity reminders and the
  vouchers' lapse (``flows.voucher_lapse``);
* the personal data the other packages hold (``privacy.registry.register_parts``).

:func:`wire` runs before anything else: in ``create_app``, before a CLI command runs, and in
the test suite. It is idempotent. The demo federation's steps of every package are here too.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

_wired = False


def wire() -> None:
    global _wired
    if _wired:
        return
    from cardsvc.activities.privacy import activities_parts
    from cardsvc.activities.reminders import REMIND_JOB, run_remind_job
    from cardsvc.flows.partitions import PARTITION_JOB, PARTITION_SCHEDULE, run_partition_job
    from cardsvc.flows.privacy import benefits_and_merchants_parts
    from cardsvc.flows.reconciliation import (
        RECONCILE_JOB,
        RECONCILE_SCHEDULE,
        run_reconcile_job,
    )
    from cardsvc.flows.voucher_lapse import LAPSE_JOB, run_lapse_job
    from cardsvc.founding.privacy import founding_parts
    from cardsvc.jobs.kinds import register_kind
    from cardsvc.members.service import on_status_change, refuse_closing_with_members
    from cardsvc.membership.lifecycle import after_status_change
    from cardsvc.orgs.service import register_close_check
    from cardsvc.privacy.registry import register_parts
    from cardsvc.privacy.retention import RETENTION_JOB, run_retention_job
    from cardsvc.roster.job import ROSTER_IMPORT, run_roster_import
    from cardsvc.roster.privacy import roster_parts
    from cardsvc.servicereq.privacy import servicereq_parts
    from cardsvc.servicereq.sweep import SERVICE_SWEEP, run_sweep_job

    on_status_change(after_status_change)
    register_close_check(refuse_closing_with_members)
    register_kind(ROSTER_IMPORT, run_roster_import)
    register_kind(
        RETENTION_JOB,
        run_retention_job,
        schedule="privacy.retention",
        every=lambda s: timedelta(hours=s.retention_interval_hours),
    )
    register_kind(
        RECONCILE_JOB,
        run_reconcile_job,
        schedule=RECONCILE_SCHEDULE,
        every=lambda s: timedelta(minutes=s.reconcile_interval_minutes),
    )
    register_kind(
        SERVICE_SWEEP,
        run_sweep_job,
        schedule="service.sweep",
        every=lambda s: timedelta(seconds=s.service_sweep_seconds),
    )
    register_kind(
        PARTITION_JOB,
        run_partition_job,
        schedule=PARTITION_SCHEDULE,
        every=lambda s: timedelta(hours=s.partition_interval_hours),
    )
    register_kind(
        REMIND_JOB,
        run_remind_job,
        schedule=REMIND_JOB,
        every=lambda s: timedelta(minutes=s.activity_reminder_minutes),
    )
    register_kind(
        LAPSE_JOB,
        run_lapse_job,
        schedule=LAPSE_JOB,
        every=lambda s: timedelta(minutes=s.voucher_lapse_minutes),
    )
    register_parts("service_requests", servicereq_parts)
    register_parts("activities", activities_parts)
    register_parts("jobs_and_rosters", roster_parts)
    register_parts("benefits_and_merchants", benefits_and_merchants_parts)
    register_parts("founding", founding_parts)
    _wired = True


def demo_steps() -> list[Any]:
    """Demo data of the other packages, seeded after the federation (``unioncard demo seed``)."""
    from benefits.demo import seed_programs
    from cardsvc.cards.demo import seed_cards
    from cardsvc.servicereq.demo import seed_service_requests
    from merchants.demo import seed_merchants, seed_redemption_history
    from merchants.directory.demo import seed_listings

    return [
        seed_cards,
        seed_merchants,
        seed_listings,
        seed_programs,
        seed_service_requests,
        seed_redemption_history,
    ]

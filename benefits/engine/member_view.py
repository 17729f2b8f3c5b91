"""What a member has: the programmes usable now (at any store in scope) with what is left this
period, from the same candidates, checks and counters as a quote."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from benefits.engine.evaluate import check_program
from benefits.engine.quote import Candidate, candidates, limit_state, read_counters
from benefits.engine.results import MemberBenefit
from benefits.engine.txn import Db, as_utc, read_connection
from benefits.engine.versions import CompiledRules
from benefits.rules.facts import MemberFacts
from benefits.rules.limits import counter_key
from benefits.rules.programme import rules_to_json


async def member_benefits(
    db: Db, *, member: MemberFacts, at: datetime | None = None
) -> list[MemberBenefit]:
    """Programmes ``member`` can use now (any store in scope), with what is left this period.

    Limits counted per merchant show ``remaining_before=None``: they depend on the store.
    """
    at = as_utc(at)
    async with read_connection(db) as conn:
        cands = await candidates(
            conn, member_org_path=member.org_path, program_ids=None, include_drafts=False
        )
        usable: list[tuple[Candidate, CompiledRules]] = []
        for c in cands:
            if c.compiled is None:
                continue
            refused = check_program(
                status=c.status,
                compiled=c.compiled,
                owner_org_path=c.owner_org_path,
                member=member,
                merchant=None,
                at=at,
            )
            if refused is None:
                usable.append((c, c.compiled))
        # Per-merchant limits have no key here (the store is unknown): shown without a figure.
        keyed = {
            c.id: [
                (
                    p,
                    counter_key(
                        c.id, p, member_id=member.id, merchant_id=None, at=at, tz=compiled.tz
                    ),
                )
                for p in compiled.policies
            ]
            for c, compiled in usable
        }
        used = await read_counters(
            conn, [k for pairs in keyed.values() for _, k in pairs if k is not None]
        )
    out: list[MemberBenefit] = []
    for c, compiled in usable:
        states = tuple(
            limit_state(
                p,
                compiled,
                at,
                None if k is None else used.get(k, 0),
                None,
                None if k is None else k.period_key,
            )
            for p, k in keyed[c.id]
        )
        rules_json = rules_to_json(compiled.rules)
        out.append(
            MemberBenefit(
                program_id=c.id,
                code=c.code,
                name=compiled.rules.name,
                description=compiled.rules.description,
                benefit=rules_json["benefit"],
                scope=rules_json["scope"],
                valid_until=compiled.rules.valid_until,
                valid_through=last_valid_day(compiled.rules.valid_until, compiled.tz),
                # Nothing left of a limit blocks the next use, whether it rejects or clamps.
                usable_now=all(
                    s.remaining_before is None or s.remaining_before > 0 for s in states
                ),
                limits=states,
            )
        )
    return out


def last_valid_day(valid_until: datetime | None, tz: ZoneInfo) -> date | None:
    """``valid_until`` is exclusive: the last day a person may use the programme is the day
    of the instant just before it (2028-01-01 00:00 → 2027-12-31)."""
    if valid_until is None:
        return None
    return (valid_until - timedelta(microseconds=1)).astimezone(tz).date()

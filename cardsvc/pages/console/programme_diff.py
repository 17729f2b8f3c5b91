"""Before an edit goes live: which members would gain or lose the programme.

The editor's "模拟修改效果" posts the form as it stands (nothing is saved); the rules it
describes are checked like a save, then compared with the live version's over a sample of the
owner's members (``benefits.programmes.simulation.eligibility_diff``).
"""

from __future__ import annotations

import uuid
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, post
from litestar.datastructures import State
from litestar.params import SkipValidation
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from benefits.access import Directory, ensure_readable
from benefits.errors import ValidationError
from benefits.models import ProgramStatus
from benefits.programmes.simulation import eligibility_diff
from benefits.public import get_program, validate_rules
from cardsvc.kernel.clock import utc_now
from cardsvc.kernel.principal import Principal
from cardsvc.pages.console import programme_form as pf
from cardsvc.pages.console.common import ConsoleController
from cardsvc.pages.i18n import lang_of, pick

SAMPLE = 500  # members compared; the answer says how many


class ProgrammeDiffPages(ConsoleController):
    path = "/console/programmes"

    @post("/{program_id:uuid}/diff", status_code=200)
    async def diff(
        self,
        request: Request[Any, Any, Any],
        state: State,
        staff: Principal,
        db_session: AsyncSession,
        benefits_directory: SkipValidation[Directory],
        program_id: uuid.UUID,
    ) -> Template:
        program = await get_program(db_session, program_id=program_id)
        ensure_readable(staff, program)
        rules, errors = pf.rules_from_values(pf.form_values(await request.form()))
        draft = None
        if not errors:
            try:
                draft = validate_rules(rules)
            except ValidationError as exc:
                errors = list(exc.errors)
        if draft is None:
            lang = lang_of(request)
            return Template(
                "console/_programme_diff.html",
                context={"errors": {e.field: pick(lang, e.reason_zh, e.reason_en) for e in errors}},
                status_code=422,
            )
        live_now = program.status in (ProgramStatus.active, ProgramStatus.paused)
        live = validate_rules(program.rules) if live_now else None
        members = await benefits_directory.sample_members(program.owner_org_path, SAMPLE)
        today = utc_now().astimezone(ZoneInfo(state.settings.time_zone)).date()
        result = eligibility_diff(
            live, draft, owner_org_path=program.owner_org_path, members=members, on=today
        )
        return Template(
            "console/_programme_diff.html",
            context={"errors": {}, "d": result, "live": live_now},
        )

"""The programme editor's search pickers: orgs, merchants and stores chosen by name.

Typing in a picker asks ``/console/programmes/pick/<kind>?q=`` (htmx) for matches; choosing
one adds a chip holding the id in a hidden input named like the rule field
(``eligibility.org_ids``, ``scope.merchant_ids``, ``scope.store_ids``), so the form posts ids
as before and nobody types a UUID. ``chosen`` names the ids a stored programme already holds.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from cardsvc.kernel.permissions import Perm
from cardsvc.kernel.principal import Principal
from cardsvc.orgs.service import OrgQuery, find_org, list_orgs
from cardsvc.pages.console.common import ConsoleController
from merchants.onboarding.scope import scope_choices, scope_names

# kind → the rule field its chips fill
PICKERS = {
    "org": "eligibility.org_ids",
    "merchant": "scope.merchant_ids",
    "store": "scope.store_ids",
}
RESULTS = 10


def _ids(values: dict[str, Any], field: str) -> list[uuid.UUID]:
    out = []
    for raw in values.get(field) or []:
        try:
            out.append(uuid.UUID(str(raw)))
        except ValueError:
            continue  # not an id: the engine names it when the form is saved
    return out


async def chosen(
    db: AsyncSession, staff: Principal, values: dict[str, Any]
) -> dict[str, list[tuple[str, str]]]:
    """field → [(id, name)] of the ids in the form's values, for the chips."""
    org_ids = _ids(values, PICKERS["org"])
    orgs = [(str(i), o.name if (o := await find_org(db, i)) else str(i)) for i in org_ids]
    merchant_ids = _ids(values, PICKERS["merchant"])
    store_ids = _ids(values, PICKERS["store"])
    names = await scope_names(db, merchant_ids, store_ids)
    return {
        PICKERS["org"]: orgs,
        PICKERS["merchant"]: [(str(i), names.get(i, str(i))) for i in merchant_ids],
        PICKERS["store"]: [(str(i), names.get(i, str(i))) for i in store_ids],
    }


class ProgrammePickerPages(ConsoleController):
    path = "/console/programmes/pick"

    @get("/{kind:str}")
    async def pick(
        self, staff: Principal, db_session: AsyncSession, kind: str, q: str = ""
    ) -> Template:
        """Up to ten matches for the picker ``kind`` (a fragment of buttons)."""
        items: list[tuple[str, str]] = []
        term = q.strip()[:64]
        if kind == "org" and term:
            orgs, _ = await list_orgs(db_session, staff, OrgQuery(q=term, limit=RESULTS))
            items = [(str(o.id), o.name) for o in orgs]
        elif kind in ("merchant", "store") and term and staff.can(Perm.benefits_write):
            for m, stores in await scope_choices(db_session, staff, term, limit=RESULTS):
                if kind == "merchant":
                    items.append((str(m.id), m.display_name))
                else:
                    items += [(str(s.id), f"{m.display_name} · {s.name}") for s in stores]
        return Template(
            "console/_picker_results.html",
            context={
                "kind": kind,
                "field": PICKERS.get(kind, ""),
                "items": items[:RESULTS],
                "q": term,
            },
        )

"""The web pages (cardsvc/pages/**) run no database queries of their own.

A page calls the domain function of its use case (the one the JSON API calls too) and renders
what it returns. Read from each module's syntax tree, a page module may not:

- import anything from SQLAlchemy but the ``AsyncSession`` type (the dependency it passes on),
  so no ``select``, ``func``, ``text``, ``insert``…;
- call ``select(...)`` by any name;
- call ``.execute``, ``.scalar``, ``.scalars``, ``.stream`` or ``.stream_scalars`` on anything;
- call ``.get``, ``.get_one``, ``.refresh`` or ``.merge`` on a session: a name annotated
  ``AsyncSession``/``AsyncConnection`` in the module, or one of the usual session names
  (``db_session``, ``db``, ``session``, ``conn``, ``connection``), also as an attribute
  (``self.db``). ``form.get(...)`` and ``dict.get(...)`` stay allowed.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PAGES = ROOT / "cardsvc" / "pages"

ALLOWED_SQLALCHEMY = {("sqlalchemy.ext.asyncio", "AsyncSession")}
QUERY_METHODS = {"execute", "scalar", "scalars", "stream", "stream_scalars"}
SESSION_METHODS = {"get", "get_one", "refresh", "merge"}
SESSION_NAMES = {"db_session", "db", "session", "conn", "connection"}
SESSION_TYPES = ("AsyncSession", "AsyncConnection")


def _session_names(tree: ast.AST) -> set[str]:
    names = set(SESSION_NAMES)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.arg | ast.AnnAssign)
            and node.annotation is not None
            and any(t in ast.unparse(node.annotation) for t in SESSION_TYPES)
        ):
            target = node.arg if isinstance(node, ast.arg) else ast.unparse(node.target)
            names.add(target.rsplit(".", 1)[-1])
    return names


def _receiver_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def queries_in(source: str, filename: str = "<page>") -> list[str]:
    """Every place in ``source`` where a page would run a query itself, as ``file:line what``."""
    tree = ast.parse(source, filename)
    sessions = _session_names(tree)
    found: list[str] = []

    def hit(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', 0)} {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "sqlalchemy":
                    hit(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if (node.module, alias.name) not in ALLOWED_SQLALCHEMY:
                    hit(node, f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Call):
            fn = node.func
            if isinstance(fn, ast.Name) and fn.id == "select":
                hit(node, "select(...)")
            elif isinstance(fn, ast.Attribute):
                on_session = _receiver_name(fn.value) in sessions
                if fn.attr in {"select", *QUERY_METHODS} or (
                    fn.attr in SESSION_METHODS and on_session
                ):
                    hit(node, f"{ast.unparse(fn)}(...)")
    return found


def test_page_modules_run_no_queries() -> None:
    modules = sorted(PAGES.rglob("*.py"))
    assert len(modules) > 20  # the walk found the pages
    found = [
        q for path in modules for q in queries_in(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert not found, "pages must call a domain function instead:\n" + "\n".join(found)


def test_the_check_can_fail() -> None:
    """Each kind of query a page could run is caught; what pages legitimately do is not."""
    bad = """
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from cardsvc.orgs.models import Org

async def page(db_session: AsyncSession, other: AsyncSession, org_id):
    a = await db_session.get(Org, org_id)
    b = await other.get(Org, org_id)
    c = await db_session.scalar(select(Org.name))
    d = await db_session.scalars(sa.select(Org))
    e = await db_session.execute(select(func.count()))
    f = await self.db.get(Org, org_id)
    g = await other.stream_scalars(x)
    await db_session.refresh(a)
"""
    found = queries_in(bad)
    whats = [f.split(" ", 1)[1] for f in found]
    assert whats.count("import sqlalchemy") == 1
    assert "from sqlalchemy import func" in whats
    assert "from sqlalchemy import select" in whats
    assert "db_session.get(...)" in whats
    assert "other.get(...)" in whats  # named otherwise, but annotated AsyncSession
    assert "self.db.get(...)" in whats
    assert "db_session.scalar(...)" in whats
    assert "db_session.scalars(...)" in whats
    assert "db_session.execute(...)" in whats
    assert "other.stream_scalars(...)" in whats
    assert "db_session.refresh(...)" in whats
    assert "sa.select(...)" in whats
    assert whats.count("select(...)") == 2  # select(Org.name), select(func.count())
    assert not any("AsyncSession" in w for w in whats)

    fine = """
from sqlalchemy.ext.asyncio import AsyncSession
from cardsvc.orgs.service import get_org, orgs_in_scope

async def page(request, state, db_session: AsyncSession, staff, org_id):
    form = await request.form()
    name = form.get("name", "")
    store = state.stores.get("sessions")
    label = {"a": 1}.get("a")
    org = await get_org(db_session, staff, org_id)
    return await orgs_in_scope(db_session, staff, "org:read")
"""
    assert queries_in(fine) == []

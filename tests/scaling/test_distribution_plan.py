"""The Citus distribution plan (docs/distribution.toml) against the live PostgreSQL schema made
by the migrations: what Citus would refuse at ``create_distributed_table`` is either absent or
listed as pending, neither more nor less. Citus itself is not run (docs/scaling.md says what
this does not check)."""

from __future__ import annotations

import asyncio
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.scaling.pgscratch import scratch_pg
from tests.test_migrations import _alembic, _run

pytestmark = pytest.mark.postgres

PLAN_FILE = Path(__file__).resolve().parents[2] / "docs" / "distribution.toml"

_TABLES = """
SELECT c.relname FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
_COLUMNS = """
SELECT table_name, column_name, is_nullable = 'YES', data_type FROM information_schema.columns
WHERE table_schema = 'public'
"""
_UNIQUE = """
SELECT t.relname, ix.relname,
       array(SELECT coalesce(a.attname, '<expression>') FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
             LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid JOIN pg_class ix ON ix.oid = i.indexrelid
WHERE i.indisunique AND t.relnamespace = 'public'::regnamespace AND NOT t.relispartition
"""
_FOREIGN = """
SELECT c.conname, t.relname, f.relname,
       array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
       array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
             JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class f ON f.oid = c.confrelid
WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace AND NOT t.relispartition
"""


@dataclass(frozen=True, slots=True)
class Schema:
    tables: set[str]
    columns: dict[tuple[str, str], tuple[bool, str]]  # (table, column) → (nullable, type)
    unique: list[tuple[str, str, list[str]]]  # table, index, columns
    foreign: list[tuple[str, str, str, list[str], list[str]]]  # name, table, target, cols, refs


def _read(conn: Connection) -> Schema:
    return Schema(
        tables={r[0] for r in conn.execute(text(_TABLES))},
        columns={(r[0], r[1]): (r[2], r[3]) for r in conn.execute(text(_COLUMNS))},
        unique=[(r[0], r[1], list(r[2])) for r in conn.execute(text(_UNIQUE))],
        foreign=[(r[0], r[1], r[2], list(r[3]), list(r[4])) for r in conn.execute(text(_FOREIGN))],
    )


@pytest.fixture(scope="module")
def plan() -> dict[str, Any]:
    return tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def schema() -> Iterator[Schema]:
    with scratch_pg("plan") as url:
        asyncio.run(_run(url, _alembic, "upgrade", "heads"))
        yield asyncio.run(_run(url, _read))


def _dist(plan: dict[str, Any]) -> dict[str, dict[str, str]]:
    return dict(plan["distributed"])


def _pending(plan: dict[str, Any], kind: str) -> set[tuple[str, tuple[str, ...]]]:
    return {(p["table"], tuple(p["columns"])) for p in plan.get("pending", []) if p["kind"] == kind}


def test_every_table_is_placed_once(plan: dict[str, Any], schema: Schema) -> None:
    placed = [*_dist(plan), *plan["reference"], *plan["local"]]
    twice = sorted({t for t in placed if placed.count(t) > 1})
    assert twice == [], f"placed more than once: {twice}"
    assert sorted(schema.tables - set(placed)) == [], "tables the plan does not place"
    assert sorted(set(placed) - schema.tables) == [], "planned tables the schema does not have"


def test_distribution_columns_exist_share_a_type_and_are_never_null(
    plan: dict[str, Any], schema: Schema
) -> None:
    types: dict[str, set[str]] = {}
    nullable: set[tuple[str, tuple[str, ...]]] = set()
    for table, d in _dist(plan).items():
        col = (table, d["column"])
        assert col in schema.columns, f"{table}.{d['column']} does not exist"
        null, kind = schema.columns[col]
        types.setdefault(d["group"], set()).add(kind)
        if null:
            nullable.add((table, (d["column"],)))
    assert {g: t for g, t in types.items() if len(t) > 1} == {}, "a group mixes column types"
    assert nullable == _pending(plan, "nullable")


def test_unique_keys_contain_the_distribution_column(plan: dict[str, Any], schema: Schema) -> None:
    dist = _dist(plan)
    missing = {
        (table, tuple(cols))
        for table, _, cols in schema.unique
        if table in dist and dist[table]["column"] not in cols
    }
    pending = _pending(plan, "unique")
    assert sorted(missing - pending) == [], "unique keys Citus would refuse, not in the plan"
    assert sorted(pending - missing) == [], "pending entries already fixed: update the plan"


def test_foreign_keys_stay_in_their_group(plan: dict[str, Any], schema: Schema) -> None:
    dist, ref = _dist(plan), set(plan["reference"])
    wrong: set[tuple[str, tuple[str, ...]]] = set()
    for name, table, target, cols, refs in schema.foreign:
        if table in ref:
            assert target in ref, f"reference table {table} points at {target} ({name})"
            continue
        if table not in dist or target in ref:
            continue  # local tables, and distributed → reference: both fine in Citus
        d, t = dist[table], dist.get(target)
        same = (
            t is not None
            and d["group"] == t["group"]
            and d["column"] in cols
            and t["column"] in refs
            and cols.index(d["column"]) == refs.index(t["column"])
        )
        if not same:
            wrong.add((table, tuple(cols)))
    assert wrong == _pending(plan, "foreign_key")


def test_co_located_joins_name_the_distribution_column(
    plan: dict[str, Any], schema: Schema
) -> None:
    dist = _dist(plan)
    for left, right in plan["joins"]:
        (lt, lc), (rt, rc) = left.split("."), right.split(".")
        assert (lt, lc) in schema.columns and (rt, rc) in schema.columns, (left, right)
        assert dist[lt]["group"] == dist[rt]["group"], f"{left} = {right} crosses groups"
        assert (dist[lt]["column"], dist[rt]["column"]) == (lc, rc), f"{left} = {right}"


def test_reference_tables_hold_no_member_data(plan: dict[str, Any], schema: Schema) -> None:
    """A copy on every node is for the small tables: none is keyed by, or points at, a member."""
    for table in plan["reference"]:
        assert (table, "member_id") not in schema.columns, table
    members = {t for t, d in _dist(plan).items() if d["group"] == "member"}
    for _, table, target, _, _ in schema.foreign:
        assert not (table in plan["reference"] and target in members), (table, target)

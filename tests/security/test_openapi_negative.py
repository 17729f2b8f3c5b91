"""The whole API with hostile input (schemathesis' negative mode, and explicit mutations of
valid calls): every operation, called as the caller it is meant for, answers no 5xx.

Beside what schemathesis makes of the schema by breaking it, each operation gets:

* a JSON body nested 100,000 deep (the decoder's recursion limit);
* each top-level body field in turn given a value of the wrong JSON type (``"100"`` for an
  integer, a number for a string, …): refused, never coerced into a success;
* each date-time (query or body) without a UTC offset: refused; and at the calendar's ends
  (year 1, year 9999, 9999-12-31 at −12:00, which UTC cannot represent).

Run on both databases like the positive contract test; bounded (``NEGATIVE_EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from schemathesis.generation import GenerationMode

from tests.security.conftest import Caller, Client, member_caller, staff_caller, terminal_caller
from tests.security.test_openapi_all import (
    LAST,
    _file_part,
    _sane_headers,
    _summary,
    caller_kind,
    operations,
)

NEGATIVE_EXAMPLES = 4
DEEP = b"[" * 100_000 + b"]" * 100_000
NAIVE = "2026-03-01T08:00:00"
EXTREME_TIMES = (
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00",
)
EXTREME_DATES = ("9999-12-31", "0001-01-01")
MAX_FIELDS = 8  # wrong-type mutations per operation


def _examples(operation: Any, mode: GenerationMode, n: int) -> list[Any]:
    found: list[Any] = []

    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(operation.as_strategy(generation_mode=mode))
    def collect(case: Any) -> None:
        found.append(case)

    # An operation without constraints to break (no parameters, no body) has no negative case.
    with contextlib.suppress(Unsatisfiable):
        collect()
    return found


# --- the schema, read for the mutations ----------------------------------------------------


def _resolve(spec: dict[str, Any], schema: Any) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema if isinstance(schema, dict) else {}


def _variants(spec: dict[str, Any], schema: Any) -> list[dict[str, Any]]:
    """The schema's alternatives (oneOf/anyOf), resolved; the schema itself otherwise."""
    schema = _resolve(spec, schema)
    alts = schema.get("oneOf") or schema.get("anyOf")
    if alts:
        return [v for alt in alts for v in _variants(spec, alt)]
    return [schema]


def _kind(spec: dict[str, Any], schema: Any) -> str | None:
    """``date-time``, ``date``, or the JSON type a field takes (null aside)."""
    types = [v for v in _variants(spec, schema) if v.get("type") != "null"]
    for v in types:
        if v.get("format") in {"date-time", "date"}:
            return str(v["format"])
    kinds = {v.get("type") for v in types}
    return str(kinds.pop()) if len(kinds) == 1 and None not in kinds else None


def _wrong(kind: str | None) -> Any:
    return {
        "integer": "100",
        "number": "1.5",
        "string": 12345,
        "boolean": "true",
        "array": {"0": 1},
        "object": [1, 2],
    }.get(kind or "")


def _body_fields(spec: dict[str, Any], op: Any) -> dict[str, str | None]:
    body = op.definition.raw.get("requestBody") or {}
    media = body.get("content", {}).get("application/json")
    if not media:
        return {}
    schema = _resolve(spec, media.get("schema"))
    return {name: _kind(spec, s) for name, s in (schema.get("properties") or {}).items()}


def _query_times(spec: dict[str, Any], op: Any) -> dict[str, str]:
    out = {}
    for p in op.definition.raw.get("parameters", []):
        if p.get("in") == "query":
            kind = _kind(spec, p.get("schema", {}))
            if kind in {"date-time", "date"}:
                out[p["name"]] = kind
    return out


# --- the calls -----------------------------------------------------------------------------


def _mutations(spec: dict[str, Any], op: Any, case: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, request changes) for one valid case: wrong types, naive and extreme times."""
    fields = _body_fields(spec, op)
    body = case.body if isinstance(case.body, dict) else None
    if fields:
        yield "deep", {"content": DEEP}
    for name, kind in list(fields.items())[:MAX_FIELDS]:
        wrong = _wrong(kind)
        if body is not None and wrong is not None:
            yield f"wrong type {name}", {"json": {**body, name: wrong}}
        if body is not None and kind == "date-time":
            yield f"naive {name}", {"json": {**body, name: NAIVE}}
            for t in EXTREME_TIMES:
                yield f"extreme {name}", {"json": {**body, name: t}}
        if body is not None and kind == "date":
            for d in EXTREME_DATES:
                yield f"extreme {name}", {"json": {**body, name: d}}
    for name, kind in _query_times(spec, op).items():
        params = dict(case.query or {})
        if kind == "date-time":
            yield f"naive {name}", {"params": {**params, name: NAIVE}}
        for t in EXTREME_TIMES if kind == "date-time" else EXTREME_DATES:
            yield f"extreme {name}", {"params": {**params, name: t}}


def _request(case: Any, caller: Caller) -> dict[str, Any]:
    kwargs = case.as_transport_kwargs(base_url="http://testserver.local")
    headers = _sane_headers(kwargs.get("headers") or {})
    for k in [k for k in headers if k.lower() in {"cookie", "authorization", "x-csrf-token"}]:
        del headers[k]
    headers.update(caller.headers())
    request = {
        k: kwargs[k]
        for k in ("params", "json", "data", "files", "content")
        if kwargs.get(k) is not None
    }
    if "files" in request:
        request["files"] = [_file_part(part) for part in request["files"]]
    if not isinstance(request.get("content", b""), bytes | str):
        request["content"] = json.dumps(request["content"])
    return {"method": kwargs["method"], "url": kwargs["url"], "headers": headers, **request}


def _refused(what: str) -> bool:
    """Mutations that must never succeed (extreme times may be valid filters)."""
    return what.startswith(("deep", "wrong type", "naive"))


# size: one loop over every operation and its mutations, with the callers' upkeep inline
async def test_whole_api_hostile_input_no_server_error(
    client: Client, app: Litestar, demo: dict[str, Any]
) -> None:
    started = time.monotonic()
    app.state.otp_policy = replace(app.state.otp_policy, per_ip_hour=10_000)
    phones = iter([c["phone"] for c in demo["cards"] if c["phone"]])
    callers: dict[str, Caller] = {
        "staff": await staff_caller(client, "admin"),
        "member": await member_caller(client, app, next(phones)),
        "terminal": terminal_caller(demo["terminals"][0]),
        "anonymous": Caller("anonymous"),
    }
    spec = app.openapi_schema.to_schema()
    failures: list[str] = []
    sent = mutated = 0
    for op in operations(app):
        kind = caller_kind(op.path)
        positive = _examples(op, GenerationMode.POSITIVE, 1)
        calls: list[tuple[str, Any, dict[str, Any]]] = [
            ("negative", case, {}) for case in _examples(op, GenerationMode.NEGATIVE, 4)
        ]
        for case in positive[:1]:
            calls += [(what, case, change) for what, change in _mutations(spec, op, case)]
        for what, case, change in calls:
            request = _request(case, callers[kind])
            if change:
                mutated += 1
                if "params" not in change:  # a new body replaces the generated one
                    for k in ("json", "content", "data", "files"):
                        request.pop(k, None)
                request.update(change)
                if "content" in change:
                    request["headers"]["content-type"] = "application/json"
            client.cookies.clear()
            try:
                r = await client.request(**request)
            except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError, TypeError):
                continue  # the client cannot even send it (a header or URL no HTTP allows)
            sent += 1
            where = f"{what}: {case.method} {op.path} as {kind} → {r.status_code}"
            if r.status_code >= 500:
                failures.append(f"{where} {_summary(Exception(r.text[:300]))}")
            elif _refused(what) and r.status_code < 300:
                failures.append(f"{where} (accepted) {r.text[:200]}")
            if op.path in LAST and r.status_code < 300:
                if kind == "staff" or op.path == "/api/v1/staff/session":
                    callers["staff"] = await staff_caller(client, "admin")
                else:
                    callers["member"] = await member_caller(client, app, next(phones))
    elapsed = time.monotonic() - started
    print(f"hostile input: {sent} calls ({mutated} mutations) in {elapsed:.0f} s")
    assert mutated >= 200 and sent >= 500
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:60])

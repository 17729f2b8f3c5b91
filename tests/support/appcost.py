"""A test process builds an app for most tests: ``create_app`` costs ~0.5 s of CPU, a third of it
in Litestar parsing every handler's signature again (inspect, type hints, forward references
compiled one by one), although the functions and the names they refer to are the same objects
for every app. ``memoize()`` parses each once per test process. The parse is a pure function
of what the key holds, and its result an immutable value (frozen dataclasses, read only), so
sharing it between apps changes nothing they do; a callable the key cannot describe (no code
object) is parsed as before.
"""

from __future__ import annotations

import inspect
from typing import Any

from litestar.utils.signature import ParsedSignature

# key -> (parsed signature, the objects whose ids the key holds: kept alive, so never reused)
_PARSED: dict[tuple[Any, ...], tuple[ParsedSignature, tuple[Any, ...]]] = {}


def _ids(items: Any) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((str(name), id(value)) for name, value in items))


def _key(fn: Any, namespace: dict[str, Any]) -> tuple[tuple[Any, ...], Any] | None:
    """What the parse reads: the function's code, defaults, annotations, globals and attributes
    (``__wrapped__``, ``__signature__``), whether it is bound, and the namespace's objects.
    Controllers' handlers are methods bound per app and options handlers closures made per
    route: the same code and objects, new function objects."""
    bound = inspect.ismethod(fn)
    func = fn.__func__ if bound else fn
    code = getattr(func, "__code__", None)
    if code is None or not inspect.isfunction(func):
        return None
    defaults = func.__defaults__ or ()
    kwdefaults = func.__kwdefaults__ or {}
    # Values, not their containers: a closure made again has new tuples and dicts.
    key = (
        bound,
        code,
        func.__module__,  # whose names Litestar adds to the namespace
        id(func.__globals__),
        tuple(id(value) for value in defaults),
        _ids(kwdefaults.items()),
        _ids(func.__annotations__.items()),
        _ids(func.__dict__.items()),
        _ids(namespace.items()),
    )
    refs = (defaults, dict(kwdefaults), dict(func.__annotations__), dict(func.__dict__))
    return key, (*refs, dict(namespace))


def memoize() -> None:
    """Install the memo on ``ParsedSignature.from_fn`` (once per process)."""
    original = ParsedSignature.from_fn.__func__  # type: ignore[attr-defined]
    if getattr(original, "memoized", False):
        return

    def from_fn(cls: type[ParsedSignature], fn: Any, signature_namespace: dict[str, Any]) -> Any:
        described = _key(fn, signature_namespace)
        if described is None:
            return original(cls, fn, signature_namespace)
        key, refs = described
        if key not in _PARSED:
            _PARSED[key] = (original(cls, fn, signature_namespace), refs)
        return _PARSED[key][0]

    from_fn.memoized = True  # type: ignore[attr-defined]
    ParsedSignature.from_fn = classmethod(from_fn)  # type: ignore[assignment,method-assign]

"""A test process builds an app for most tests: ``create_app`` costs ~0.5 s of CPU, a third of it
in Litestar parsing every handler's signature again (inspect, type hints, forward references
compiled one by one), although the functions and the names they refer to are the same objects
for every app. ``memoize()`` parses each once per test process. The parse is a pure function
of what the key holds, and its result an immutable value (frozen dataclasses, read only), so
sharing it between apps changes nothing they do; a callable the key cannot describe (no code
object) is parsed as before.
"""

from __future__ import annotations

import functools
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


# --- routes: each registration looks up its paths' handlers without mapping every route ---------

# Litestar's ``Router.register`` asks ``route_handler_method_map`` (every route's handlers by
# path and method, built anew on each call) for the handlers already at each path it adds: for
# an app of ~1,000 routes, ~2,400 full maps per app (~0.16 CPU s of ~0.6). ``_method_map_at``
# answers the same ``.get(path, {})`` from an index of the router's routes by path, which is
# kept up to date as ``register`` appends (the only change it makes to ``routes`` besides
# replacing a route by one of the same path). The copy of ``register`` below is Litestar
# 2.25's with that one lookup changed; it is installed only when Litestar's source is the one
# it was copied from (``_REGISTER_SOURCE``), else the original stays.
_REGISTER_SOURCE = "9322f175bff6d5cb"
_METHOD_MAP_SOURCE = "0c3d0f315aee2630"

# id(router) -> (its routes list, held so the id is not reused; positions by path; how many
# routes are indexed). A few routers only: an app's and the controller routers it is building.
_INDEXES: dict[int, tuple[list[Any], dict[str, list[int]], list[int]]] = {}


def _source_hash(fn: Any) -> str:
    import hashlib

    return hashlib.sha256(inspect.getsource(fn).encode()).hexdigest()[:16]


def _method_map_at(router: Any, path: str) -> dict[str, Any]:
    """``router.route_handler_method_map.get(path, {})``, computed from the routes at ``path``."""
    from litestar.routes import HTTPRoute, WebSocketRoute

    routes = router.routes
    entry = _INDEXES.pop(id(router), None)  # put back last: the least recently used go
    if entry is None or entry[0] is not routes or entry[2][0] > len(routes):
        entry = (routes, {}, [0])
    _INDEXES[id(router)] = entry
    while len(_INDEXES) > 8:
        del _INDEXES[next(iter(_INDEXES))]
    _, by_path, seen = entry
    for i in range(seen[0], len(routes)):
        by_path.setdefault(routes[i].path, []).append(i)
    seen[0] = len(routes)
    item: dict[str, Any] = {}
    for i in by_path.get(path, ()):
        route = routes[i]
        if route.path != path:  # changed by someone else: the full map, as Litestar makes it
            del _INDEXES[id(router)]
            return dict(router.route_handler_method_map.get(path, {}))
        if isinstance(route, HTTPRoute):
            for route_handler in route.route_handlers:
                for method in route_handler.http_methods:
                    item[method] = route_handler
        else:
            kind = "websocket" if isinstance(route, WebSocketRoute) else "asgi"
            item[kind] = route.route_handler
    return item


def _register(self: Any, value: Any) -> list[Any]:
    """Litestar 2.25's ``Router.register``, with ``_method_map_at`` for the existing handlers."""
    from litestar.exceptions import ImproperlyConfiguredException
    from litestar.handlers.http_handlers import HTTPRouteHandler
    from litestar.routes import ASGIRoute, HTTPRoute, WebSocketRoute
    from litestar.utils import find_index, join_paths, unique

    validated_value = self._validate_registration_value(value)

    routes: list[Any] = []

    for route_path, handlers_map in self.get_route_handler_map(value=validated_value).items():
        path = join_paths([self.path, route_path])
        if http_handlers := unique(
            [handler for handler in handlers_map.values() if isinstance(handler, HTTPRouteHandler)]
        ):
            if existing_handlers := unique(
                [
                    handler
                    for handler in _method_map_at(self, path).values()
                    if isinstance(handler, HTTPRouteHandler)
                ]
            ):
                http_handlers.extend(existing_handlers)
                existing_route_index = find_index(self.routes, lambda x: x.path == path)  # noqa: B023

                if existing_route_index == -1:  # pragma: no cover
                    raise ImproperlyConfiguredException("unable to find_index existing route index")

                route: Any = HTTPRoute(path=path, route_handlers=http_handlers)
                self.routes[existing_route_index] = route
            else:
                route = HTTPRoute(path=path, route_handlers=http_handlers)
                self.routes.append(route)

            routes.append(route)

        if websocket_handler := handlers_map.get("websocket"):
            route = WebSocketRoute(path=path, route_handler=websocket_handler)
            self.routes.append(route)
            routes.append(route)

        if asgi_handler := handlers_map.get("asgi"):
            route = ASGIRoute(path=path, route_handler=asgi_handler)
            self.routes.append(route)
            routes.append(route)

    return routes


def index_routes() -> bool:
    """Install ``_register`` on ``Router`` (once per process) when Litestar's ``register`` and
    ``route_handler_method_map`` are those it copies; return whether it is installed."""
    from litestar.router import Router

    if getattr(Router.register, "indexed", False):
        return True
    if (
        _source_hash(Router.register) != _REGISTER_SOURCE
        or _source_hash(Router.route_handler_method_map.fget) != _METHOD_MAP_SOURCE  # type: ignore[attr-defined]
    ):
        return False
    _register.indexed = True  # type: ignore[attr-defined]
    Router.register = _register  # type: ignore[method-assign]
    return True


# --- signature models: one msgspec model per handler signature, not one per app --------------

# key -> (the model, the objects whose ids the key holds: kept alive, so never reused)
_MODELS: dict[tuple[Any, ...], tuple[Any, tuple[Any, ...]]] = {}


def _describe(part: Any) -> Any:
    """A decoder by identity; a ``functools.partial`` (made per app by Litestar's pydantic
    plugin) by its function and arguments."""
    if isinstance(part, functools.partial):
        return (id(part.func), tuple(map(id, part.args)), _ids(part.keywords.items()))
    return id(part)


def share_signature_models() -> None:
    """``SignatureModel.create`` builds a msgspec struct type from the parsed signature (shared
    by ``memoize``), the dependency names, the type decoders and the data DTO: the same inputs
    give the same, immutable type. Each is made once per test process (~0.05 CPU s an app)."""
    from litestar._signature.model import SignatureModel

    original = SignatureModel.create.__func__  # type: ignore[attr-defined]
    if getattr(original, "shared", False):
        return

    def create(
        cls: Any,
        dependency_name_set: set[str],
        fn: Any,
        parsed_signature: Any,
        type_decoders: Any,
        data_dto: Any = None,
    ) -> Any:
        decoders = tuple(type_decoders or ())
        key = (
            cls,
            getattr(fn, "__name__", "anonymous"),
            getattr(fn, "__module__", None),
            frozenset(dependency_name_set),
            id(parsed_signature),
            tuple(_describe(part) for pair in decoders for part in pair),
            len(decoders),
            id(data_dto),
        )
        if key not in _MODELS:
            model = original(
                cls, dependency_name_set, fn, parsed_signature, type_decoders, data_dto
            )
            _MODELS[key] = (model, (parsed_signature, decoders, data_dto))
        return _MODELS[key][0]

    create.shared = True  # type: ignore[attr-defined]
    SignatureModel.create = classmethod(create)  # type: ignore[assignment,method-assign]

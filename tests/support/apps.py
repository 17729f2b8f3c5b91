"""One app per test process, given a fresh runtime for each test.

Building the app is mostly Litestar registering some 700 route handlers (about 0.6 CPU s), and
the routes do not depend on the settings a test chooses: only ``trusted_proxies`` and
``time_zone`` shape the app itself (``cardsvc.app.app_from``). Everything else a request
reaches (settings, engine, Redis, stores, jobs, the terminal gate) is the runtime's, in the
app's state and its start/stop hooks, and is made new for every test, so no test sees another's
engine, stores, caches or jobs. The tests of ``create_app`` itself still call it.
"""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar

from cardsvc.app import AppRuntime, app_from, app_runtime
from cardsvc.kernel.settings import Settings

_APPS: dict[tuple[object, ...], tuple[Litestar, AppRuntime]] = {}


def app_for(settings: Settings) -> Litestar:
    """An app for ``settings``, as ``create_app(settings)`` would build it."""
    runtime = app_runtime(settings)
    key = (tuple(settings.trusted_proxies), settings.time_zone)
    cached = _APPS.get(key)
    if cached is None:
        app = app_from(runtime)
    else:
        app, old = cached
        _rebind(app, old, runtime)
    _APPS[key] = (app, runtime)
    return app


def _rebind(app: Litestar, old: AppRuntime, new: AppRuntime) -> None:
    app.state = new.state
    app.stores = new.state.stores
    # The runtime's hooks first, then those the plugins added (as at construction).
    app.on_startup[:] = [*new.on_startup, *(h for h in app.on_startup if h not in old.on_startup)]
    app.on_shutdown[:] = [
        *new.on_shutdown,
        *(h for h in app.on_shutdown if h not in old.on_shutdown),
    ]
    for plugin in app.plugins.init:
        if isinstance(plugin, SQLAlchemyPlugin):
            # In place: the session dependency is the config's own bound method, baked into
            # every handler when it was registered.
            for config in plugin.config:
                config.engine_instance = new.engine
                config.session_maker = None
        bind_state = getattr(plugin, "bind_state", None)
        if bind_state is not None:
            bind_state(new.state)

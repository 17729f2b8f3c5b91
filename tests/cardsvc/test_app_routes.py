"""Every package's API is mounted by the composition root (a lost plugin line shows here)."""

from __future__ import annotations

from pathlib import Path

from cardsvc.app import create_app
from tests.conftest import make_test_settings

EXPECTED = {
    ("POST", "/api/v1/staff/session"),
    ("GET", "/api/v1/members"),
    ("POST", "/api/v1/me/applications"),
    ("GET", "/api/v1/me/card/token"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/api/v1/programs"),
    ("GET", "/api/v1/me/benefits"),
    ("GET", "/api/v1/me/stores/nearby"),
    ("GET", "/api/v1/merchants"),
    ("POST", "/api/v1/scans"),
    ("POST", "/api/v1/redemptions"),
    ("GET", "/api/v1/reports/members"),
    ("POST", "/api/v1/roster/imports"),
    ("POST", "/api/v1/me/service-requests"),
    ("GET", "/api/v1/service-requests"),
    ("POST", "/api/v1/service-requests/{request_id:uuid}/take-over"),
    ("GET", "/api/v1/orgs/{org_id:uuid}/service-levels"),
    ("GET", "/api/v1/hardship/records"),
    ("GET", "/api/v1/me/inbox"),
    ("GET", "/api/v1/inbox"),
    ("GET", "/api/v1/reports/service-requests"),
    ("POST", "/api/v1/members/{member_id:uuid}/erasure"),
    ("GET", "/api/v1/me/personal-data"),
}


def test_every_package_is_mounted(tmp_path: Path) -> None:
    app = create_app(make_test_settings(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}", tmp_path))
    mounted = {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
    }
    assert mounted >= EXPECTED, sorted(EXPECTED - mounted)

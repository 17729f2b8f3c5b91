"""The whole app on the ``engine`` fixture's database (demo federation), with POS helpers."""

from tests.merchants.conftest import app, client, settings  # noqa: F401 (fixtures)
from tests.support.pos import pos_fixture  # noqa: F401 (fixture)

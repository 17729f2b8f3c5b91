"""The app/client fixtures of tests/cardsvc, named here for the activity API tests."""

from tests.cardsvc.conftest import app, client, settings  # noqa: F401

"""The install test runs Home Assistant as a separate process, not the in-process test core."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations():
    """Override tests/conftest.py: no in-process Home Assistant (nor its ``hass`` fixture) here."""
    return

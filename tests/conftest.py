"""Shared fixtures. Home Assistant's pytest plugin is active for every test in this venv."""

import pytest


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations):
    """Let Home Assistant load custom_components/ in integration tests."""
    return

"""Shared fixtures.

In the Python 3.13 test venv Home Assistant's pytest plugin is active for every test; the
controller-only run on Python 3.11 (scripts/test) has no Home Assistant installed.
"""

import importlib.util

import pytest

if importlib.util.find_spec("pytest_homeassistant_custom_component") is not None:

    @pytest.fixture(autouse=True)
    def auto_enable_custom_integrations(enable_custom_integrations):
        """Let Home Assistant load custom_components/ in integration tests."""
        return

else:

    @pytest.fixture
    def socket_enabled():
        """Without Home Assistant's plugin sockets are never blocked (Python 3.11 run)."""
        return

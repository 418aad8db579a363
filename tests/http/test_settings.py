"""The ``http:`` schema: a token unless the API is reachable from this machine only."""

from __future__ import annotations

import pytest
import voluptuous as vol

from controller.http import HTTP_SCHEMA, HttpSettings
from controller.http.settings import is_loopback


def test_defaults_with_token():
    settings = HttpSettings(**HTTP_SCHEMA({"token": "abc"}))
    assert settings == HttpSettings(
        host="127.0.0.1", port=8080, token="abc", allow_unauthenticated=False, event_queue=1000
    )


def test_token_is_required():
    with pytest.raises(vol.Invalid, match="token is required"):
        HTTP_SCHEMA({})
    with pytest.raises(vol.Invalid):
        HTTP_SCHEMA({"token": ""})
    with pytest.raises(vol.Invalid, match="token is required"):
        HTTP_SCHEMA({"host": "0.0.0.0", "allow_unauthenticated": False})


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"])
def test_unauthenticated_allowed_on_loopback(host):
    settings = HttpSettings(**HTTP_SCHEMA({"host": host, "allow_unauthenticated": True}))
    assert settings.token is None
    assert settings.allow_unauthenticated is True
    assert settings.host == host


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "charger.local"])
def test_unauthenticated_refused_off_loopback(host):
    with pytest.raises(vol.Invalid, match="only allowed when host is a loopback address"):
        HTTP_SCHEMA({"host": host, "allow_unauthenticated": True})
    # with a token, any host is fine
    assert HTTP_SCHEMA({"host": host, "token": "t"})["host"] == host


@pytest.mark.parametrize(
    "config",
    [
        {"token": "t", "port": 70000},
        {"token": "t", "port": -1},
        {"token": "t", "port": "80"},
        {"token": "t", "event_queue": 0},
        {"token": "t", "unknown": 1},
        {"token": 5},
    ],
)
def test_invalid_values(config):
    with pytest.raises(vol.Invalid):
        HTTP_SCHEMA(config)


def test_port_zero_means_any_free_port():
    assert HTTP_SCHEMA({"token": "t", "port": 0})["port"] == 0


def test_is_loopback():
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert not is_loopback("10.0.0.1")
    assert not is_loopback("example.org")

"""Staying connected to the broker: one connection at a time, capped exponential backoff,
one log line per loss (not one per retry), for every MQTT client of the project."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn

import aiomqtt

from ..backoff import Backoff
from .settings import MqttSettings

_LOGGER = logging.getLogger(__name__)


def new_client(
    settings: MqttSettings,
    will: aiomqtt.Will | None = None,
    tls: ssl.SSLContext | None = None,
) -> aiomqtt.Client:
    """A client for ``settings`` (login, TLS, client id, in-flight window) with an optional
    last will; ``tls`` reuses a context already built from the settings."""
    return aiomqtt.Client(
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        password=settings.password,
        identifier=settings.client_id,
        tls_context=tls if tls is not None else settings.ssl_context(),
        max_inflight_messages=settings.max_inflight,
        will=will,
    )


async def stay_connected(
    settings: MqttSettings,
    make_client: Callable[[], aiomqtt.Client],
    serve: Callable[[aiomqtt.Client], Awaitable[None]],
    on_disconnect: Callable[[], None] | None = None,
) -> NoReturn:
    """Connect, ``serve`` the connection, and on any loss reconnect (until cancelled)."""
    backoff = Backoff(settings.reconnect_min_s, settings.reconnect_max_s)
    while True:
        was_connected = False
        try:
            async with make_client() as client:
                was_connected = True
                _LOGGER.info("MQTT: connected to %s:%d", settings.host, settings.port)
                backoff.succeeded()
                await serve(client)
        except (aiomqtt.MqttError, OSError) as err:
            backoff.failed()
            _log_failure(settings, err, was_connected, backoff.failures, backoff.delay)
        finally:
            if on_disconnect is not None:
                on_disconnect()
        await backoff.wait()


def _log_failure(
    s: MqttSettings, err: Exception, was_connected: bool, failures: int, delay: float
) -> None:
    if was_connected:
        _LOGGER.warning("MQTT: connection to %s:%d lost: %s", s.host, s.port, err)
    elif failures == 1:
        _LOGGER.error(
            "MQTT: cannot connect to %s:%d: %s (retrying, next in %.1f s)",
            s.host,
            s.port,
            err,
            delay,
        )
    else:
        _LOGGER.debug("MQTT: connect attempt %d failed: %s", failures, err)


async def run_loops(*loops: Coroutine[Any, Any, None]) -> None:
    """Run one connection's loops (publish, receive) until the first ends or fails; its
    error (a lost connection) propagates once the others are cancelled."""
    tasks = {asyncio.create_task(loop) for loop in loops}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

"""A real mosquitto on 127.0.0.1, a started connector, and an aiomqtt "other side"."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from controller.mqtt import MQTT_SCHEMA, MqttBridge, MqttSettings
from tests.controller.conftest import Rig, make_rig

USER = "evse"
PASSWORD = "s3cret"
WAIT_S = 10.0
EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")

if shutil.which("mosquitto") is None:
    pytest.skip("mosquitto is not installed", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Certificates:
    """A throw-away CA and a server certificate for 127.0.0.1 it signed."""

    ca: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def make(cls, workdir: Path) -> Certificates:
        def openssl(*args: str) -> None:
            subprocess.run(["openssl", *args], check=True, capture_output=True)

        ca, ca_key = workdir / "ca.crt", workdir / "ca.key"
        cert, key, csr = workdir / "server.crt", workdir / "server.key", workdir / "server.csr"
        ext = workdir / "san.ext"
        # Python 3.13 verifies strictly (key usage, key identifiers), so be complete.
        ext.write_text(
            "subjectAltName=IP:127.0.0.1\n"
            "authorityKeyIdentifier=keyid,issuer\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
        )
        openssl(
            "req", "-x509", *EC_KEY, "-nodes", "-days", "1",
            "-keyout", str(ca_key), "-out", str(ca), "-subj", "/CN=test-ca",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        openssl(
            "req", *EC_KEY, "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", "/CN=127.0.0.1",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "1", "-extfile", str(ext),
        )  # fmt: skip
        return cls(ca, cert, key)


class Broker:
    """One mosquitto process; ``stop()``/``start()`` restart it on the same port."""

    def __init__(
        self,
        workdir: Path,
        *,
        auth: bool = False,
        persistent: bool = False,
        tls: Certificates | None = None,
    ) -> None:
        self.port = _free_port()
        self.tls = tls
        self.conf = workdir / "mosquitto.conf"
        # Running as root, mosquitto would switch to its own user, which cannot read
        # pytest's private tmp_path (password file, persistence).
        lines = [f"listener {self.port} 127.0.0.1", f"user {getpass.getuser()}"]
        if auth:
            pwfile = workdir / "passwd"
            subprocess.run(
                ["mosquitto_passwd", "-b", "-c", str(pwfile), USER, PASSWORD], check=True
            )
            lines += ["allow_anonymous false", f"password_file {pwfile}"]
        else:
            lines.append("allow_anonymous true")
        if tls is not None:
            lines += [
                f"cafile {tls.ca}",
                f"certfile {tls.server_cert}",
                f"keyfile {tls.server_key}",
            ]
        if persistent:
            lines += ["persistence true", f"persistence_location {workdir}/"]
        else:
            lines.append("persistence false")
        self.conf.write_text("\n".join(lines) + "\n")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=WAIT_S)
            self._proc = None


def _broker(tmp_path: Path, **kwargs: Any) -> Any:
    broker = Broker(tmp_path, **kwargs)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def mosquitto(socket_enabled: None, tmp_path: Path) -> Any:
    """A broker for anonymous clients."""
    yield from _broker(tmp_path)


@pytest.fixture
def auth_mosquitto(socket_enabled: None, tmp_path: Path) -> Any:
    """A broker that wants ``USER``/``PASSWORD``."""
    yield from _broker(tmp_path, auth=True)


@pytest.fixture
def persistent_mosquitto(socket_enabled: None, tmp_path: Path) -> Any:
    """A broker that keeps sessions (and their queued QoS 1 messages) across restarts."""
    yield from _broker(tmp_path, persistent=True)


@pytest.fixture
def tls_mosquitto(socket_enabled: None, tmp_path: Path) -> Any:
    """A broker speaking TLS only, with a certificate from a test CA (``broker.tls.ca``)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    certificates = Certificates.make(tmp_path)
    yield from _broker(tmp_path, tls=certificates)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A started connector ``evse1`` on simulated hardware."""
    rig = await make_rig(tmp_path)
    try:
        yield rig
    finally:
        await rig.manager.stop()
        rig.store.close()


def settings(port: int, **overrides: Any) -> MqttSettings:
    """Bridge settings for a test broker: fast reconnects."""
    data = {
        "host": "127.0.0.1",
        "port": port,
        "reconnect_min_s": 0.05,
        "reconnect_max_s": 0.2,
        **overrides,
    }
    return MqttSettings(**MQTT_SCHEMA(data))


@contextlib.asynccontextmanager
async def running(bridge: MqttBridge, *, connect: bool = True) -> AsyncIterator[MqttBridge]:
    """Start ``bridge`` (and wait for its connection); always stop it."""
    await bridge.start()
    try:
        if connect:
            async with asyncio.timeout(WAIT_S):
                await bridge.wait_connected()
        yield bridge
    finally:
        await bridge.stop()


@dataclass
class Received:
    topic: str
    payload: str
    retain: bool

    def json(self) -> Any:
        return json.loads(self.payload)


@dataclass
class Peer:
    """The other side of the broker: records what it receives, publishes what tests send."""

    client: aiomqtt.Client
    messages: list[Received] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def collect(self) -> None:
        async for message in self.client.messages:
            payload = message.payload
            text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
            self.messages.append(Received(message.topic.value, text, message.retain))
            self._changed.set()

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(
        self,
        topic: str,
        match: Callable[[Received], bool] = lambda m: True,
        count: int = 1,
    ) -> list[Received]:
        """The messages on ``topic`` once ``count`` of them satisfy ``match``."""
        async with asyncio.timeout(WAIT_S):
            while True:
                found = [m for m in self.on(topic) if match(m)]
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()

    async def publish(self, topic: str, payload: Any = None, **kwargs: Any) -> None:
        if not isinstance(payload, str | bytes | None):
            payload = json.dumps(payload)
        await self.client.publish(topic, payload, **kwargs)


@contextlib.asynccontextmanager
async def peer(port: int, *topics: str, **client_args: Any) -> AsyncIterator[Peer]:
    """A connected aiomqtt client subscribed (QoS 1) to ``topics``."""
    async with aiomqtt.Client("127.0.0.1", port, **client_args) as client:
        other = Peer(client)
        task = asyncio.create_task(other.collect())
        try:
            for topic in topics:
                await client.subscribe(topic, qos=1)
            yield other
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task

"""Where the controller's memory goes with one connector, MQTT and HTTP on.

One connector (Heidelberg Energy Control charger + Eastron SDM630 meter, simulated over
Modbus TCP on 127.0.0.1), MQTT with Home Assistant discovery against a real mosquitto and
HTTP on, the EV charging, poll interval 1 s: the configuration ``benchmarks/scale.py``
runs at size 1. The controller process imports what ``python -m controller --config``
imports in stages and prints, after each, its resident set (RSS, what ``scale.py``
reports: VmRSS), PSS (shared pages divided among the processes mapping them) and USS (its
own pages), from ``/proc/self/smaps_rollup``; then it starts the connector and, once the
EV is charging, runs ``--duration`` seconds with an MQTT command every 2 s before the last
figure. A second process imports only the third-party packages the controller runs on, in
the same order, for the floor they set before any controller code. Bytecode is cached as
an installed package has it (see ``scale.py``). The environment reaches both processes,
so ``PYTHONOPTIMIZE=2`` (``-OO``) or ``MALLOC_ARENA_MAX=1`` in front of the command measure
those settings. Figures depend on the machine; they print, nothing asserts them.

    python benchmarks/memory.py [--duration S] [--no-http] [--no-mqtt]

``--no-mqtt`` (with ``--no-http``: the connector alone, as the issue's first 48 MB figure was
taken) leaves the bridge out; the controller process then waits for its own connector to
charge and the run has no commands.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def _smaps() -> dict[str, float]:
    """MiB: RSS, PSS, USS (private clean + dirty) and anonymous, of this process."""
    fields: dict[str, float] = {}
    with open("/proc/self/smaps_rollup") as file:
        for line in file:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return {
        "rss": fields["Rss"],
        "pss": fields["Pss"],
        "uss": fields["Private_Clean"] + fields["Private_Dirty"],
        "anon": fields["Anonymous"],
    }


def _say(stage: str, **extra: object) -> None:
    import json  # noqa: PLC0415

    print(json.dumps({"stage": stage, **_smaps(), "modules": len(sys.modules), **extra}))
    sys.stdout.flush()


def _child(config_path: str) -> None:
    """The controller, imported stage by stage as ``python -m controller`` imports it."""
    _say("Python")
    import asyncio  # noqa: PLC0415

    _say("asyncio (imports ssl)")
    import controller.__main__  # noqa: PLC0415

    _say("controller (pymodbus, PyYAML, voluptuous, sqlite3)")
    if "--no-mqtt" not in sys.argv:
        import controller.mqtt  # noqa: PLC0415

        _say("aiomqtt + MQTT bridge")
    if "--no-http" not in sys.argv:
        import controller.http  # noqa: F401, PLC0415

        _say("aiohttp + HTTP API")
    from controller.config import load_config  # noqa: PLC0415

    config = load_config(config_path)
    _say("configuration loaded")
    asyncio.run(_run(config))


DEPENDENCIES = (
    ("asyncio", "asyncio (imports ssl)"),
    ("json argparse yaml voluptuous sqlite3", "json, argparse, PyYAML, voluptuous, sqlite3"),
    ("pymodbus.client", "pymodbus client"),
    ("aiomqtt", "aiomqtt (paho)"),
    ("aiohttp.web", "aiohttp.web"),
)


def _dependencies() -> None:
    """Only what the controller imports from elsewhere, stage by stage."""
    import importlib  # noqa: PLC0415

    _say("Python")
    off = {"aiomqtt": "--no-mqtt", "aiohttp.web": "--no-http"}
    for names, stage in DEPENDENCIES:
        if off.get(names) in sys.argv:
            continue
        for name in names.split():
            importlib.import_module(name)
        _say(stage)


async def _run(config: object) -> None:
    import asyncio  # noqa: PLC0415

    from controller.app import Controller  # noqa: PLC0415

    controller = Controller(config)  # type: ignore[arg-type]
    await controller.start()
    try:
        _say("started")
        if controller.config.mqtt is None:
            await _charging(controller)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().split():
            if line[0] != "measure":
                break
            threads = len(os.listdir("/proc/self/task"))
            _say("running, EV charging", threads=threads)
    finally:
        await controller.stop()


async def _charging(controller: Any) -> None:
    """Without MQTT nobody outside sees the EV charge: wait for it here, then say so."""
    import asyncio  # noqa: PLC0415

    from controller.kernel.states import State  # noqa: PLC0415

    (manager,) = controller.managers.values()
    charging = asyncio.Event()
    manager.subscribe(lambda _update: manager.state is State.Charging and charging.set())
    if manager.state is State.Charging:
        charging.set()
    async with asyncio.timeout(60.0):
        await charging.wait()
    print('{"stage": "charging"}')
    sys.stdout.flush()


async def _commands(sub: Any, topic: str, duration: float) -> None:
    """For ``duration`` s, a current limit every 2 s (16 A and 10 A in turn)."""
    import asyncio  # noqa: PLC0415
    import json  # noqa: PLC0415
    import time  # noqa: PLC0415

    end = time.monotonic() + duration
    amps = 16.0
    while time.monotonic() < end:
        amps = 10.0 if amps == 16.0 else 16.0
        limit = {
            "uuid": "evse_manager",
            "valid_for": 600,
            "limits_root_side": {"ac_max_current_A": {"value": amps, "source": "bench"}},
        }
        await sub.publish(topic, json.dumps({"args": {"value": limit}}))
        await asyncio.sleep(2.0)


async def _bench(duration: float, http: bool, mqtt: bool) -> None:
    import json  # noqa: PLC0415
    import tempfile  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    sys.path.insert(0, str(Path(__file__).parent))
    import scale  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as tmp:
        scale.cache_bytecode(cache)
        broker = scale.Broker(Path(tmp))
        worker = scale.Proc.start("--simulators", "0", "1")
        child = None
        try:
            devices = {int(k): v for k, v in (await worker.read())["devices"].items()}
            path = scale.config(1, devices, broker.port, Path(tmp))
            data = json.loads(path.read_text())
            for section, wanted in (("http", http), ("mqtt", mqtt)):
                if not wanted:
                    del data[section]
            path.write_text(json.dumps(data))
            flags = [f for f, on in (("--no-http", http), ("--no-mqtt", mqtt)) if not on]
            child = scale.Proc(scale.subprocess.Popen(
                [sys.executable, __file__, "--child", str(path), *flags],
                stdin=scale.subprocess.PIPE,
                stdout=scale.subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(scale.ROOT)},
                cwd=scale.ROOT,
            ))  # fmt: skip
            rows = await _measure(child, broker.port, duration, mqtt)
            deps = [json.loads(line) for line in scale.subprocess.run(
                [sys.executable, __file__, "--dependencies", *flags],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(scale.ROOT)},
                cwd=scale.ROOT,
            ).stdout.splitlines()]  # fmt: skip
        finally:
            if child is not None:
                child.stop()
            worker.stop()
            broker.stop()
    print(
        f"one connector ({scale.CHARGER} + {scale.METER}, Modbus TCP), MQTT (discovery) "
        f"{'on' if mqtt else 'off'}, HTTP {'on' if http else 'off'}, EV charging, poll "
        f"{scale.POLL_S:g} s; last row after {duration:g} s; Python "
        f"{sys.version.split()[0]}; MiB"
    )
    _table(rows)
    print(f"threads: {rows[-1]['threads']}")
    print("\nthe third-party packages alone, imported in the same order; MiB")
    _table(deps)


async def _measure(child: Any, port: int, duration: float, mqtt: bool) -> list[dict[str, Any]]:
    """The child's rows up to started, then one after ``duration`` s of charging (with a
    command every 2 s over MQTT when it has MQTT)."""
    import asyncio  # noqa: PLC0415

    import aiomqtt  # noqa: PLC0415
    import scale  # noqa: PLC0415

    rows: list[dict[str, Any]] = []
    if not mqtt:
        while not rows or rows[-1]["stage"] != "started":
            rows.append(await child.read())
        await child.read()  # {"stage": "charging"}
        await asyncio.sleep(duration)
        return [*rows, await child.ask("measure")]
    async with aiomqtt.Client("127.0.0.1", port) as sub:
        await sub.subscribe(f"{scale.BASE}/+/state/charging")
        while not rows or rows[-1]["stage"] != "started":
            rows.append(await child.read())
        async with asyncio.timeout(scale.START_LIMIT_S):
            async for message in sub.messages:
                if message.payload == b"ON":
                    break
        await _commands(sub, f"{scale.BASE}/c0000/cmd/enforce_limits", duration)
        return [*rows, await child.ask("measure")]


def _table(rows: list[dict[str, Any]]) -> None:
    print(f"{'stage':<56} {'RSS':>6} {'+RSS':>6} {'PSS':>6} {'USS':>6} {'modules':>8}")
    before = 0.0
    for row in rows:
        print(
            f"{row['stage']:<56} {row['rss']:>6.1f} {row['rss'] - before:>+6.1f} "
            f"{row['pss']:>6.1f} {row['uss']:>6.1f} {row['modules']:>8}"
        )
        before = row["rss"]


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        _child(sys.argv[2])
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--dependencies":
        _dependencies()
        return 0
    import argparse  # noqa: PLC0415
    import asyncio  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds charging")
    parser.add_argument("--no-http", action="store_true", help="without the HTTP API (aiohttp)")
    parser.add_argument("--no-mqtt", action="store_true", help="without MQTT (aiomqtt)")
    args = parser.parse_args()
    asyncio.run(_bench(args.duration, http=not args.no_http, mqtt=not args.no_mqtt))
    return 0


if __name__ == "__main__":
    sys.exit(main())

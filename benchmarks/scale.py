"""How many connectors one controller process keeps up with, in real time on 127.0.0.1.

Every connector is its own charger (Heidelberg Energy Control) and meter (Eastron SDM630),
each served over Modbus TCP by the project's simulator; the simulators run in several
worker processes. One controller process (``Controller``, as ``python -m controller``
runs it) polls them all at 1 s with MQTT (Home Assistant discovery on) and HTTP on, against
a real mosquitto. Every EV charges (free charging, 16 A, 3 phases). The sizes 1, 10, 100,
300, 1000, 2000 are stepped through, each with fresh processes, until one falls behind.

Per size, over ``--duration`` seconds after every connector is charging:

* CPU: the controller process's user + system time, in % of one core, and the same as
  milliseconds of CPU per connector and second (ms/conn/s); RSS its resident set.
* poll lag p50/p99: how late each poll's first request reaches the simulator, against the
  connector's 1 s grid (its earliest poll in the window counts as on time), timestamped in
  the simulator process; "missed" counts the polls that did not come at all.
* command -> register p99: from publishing ``enforce_limits`` with a lower current on
  ``<base>/<connector>/cmd/enforce_limits`` until the simulator processes the write of that
  current. Only decreases, each on a connector whose PWM was last changed more than 5 s
  before: IEC 61851-1 holds every later PWM change 5 s (the kernel's pwm_update_s).
* ctl p50/p99: the controller's own part of it: from when its bridge took the command from
  the broker until it started writing that current to the charger (the benchmark wraps the
  bridge's handler and each charger port to note both), without the benchmark's publish,
  the broker's delivery and the simulator's processing.
* sim CPU: the simulator processes together, in % of one core (they share the machine);
  broker and bench: mosquitto's and this process's (the subscriber counting deliveries),
  the rest of what runs beside the controller.
* CPU wait: how long the controller was ready to run but waited for a CPU (the kernel's
  schedstat), in % of the window: the share of its lateness the machine, not the
  controller, is to blame for.
* loop stall p99 / max: how late a 10 ms timer in the controller's event loop fires, the
  time anything else that became ready (a command, a poll) waited for the loop; GC max is
  the longest pause of the cyclic garbage collector in the window.
* MQTT due vs delivered, per connector per minute: messages the bridge put in its outbox
  versus messages a subscriber received (commands and their results left out; what is on
  its way when the window ends is waited for, 2 s at most).

With two CPUs or more the controller is pinned to CPU 0 and every other process of the
benchmark (simulators, mosquitto, this one) to the others (``--no-pin`` leaves placing them
to the kernel): the controller gets one core, as the goal has it, and the rest of the
benchmark does not compete with it for that core.

The child processes run with their bytecode cached (``PYTHONPYCACHEPREFIX``, a temporary
folder filled before the first size), as an installed package has it: a controller that
compiles every module from source at each start (``PYTHONDONTWRITEBYTECODE``) holds about
2 MiB more.

A size falls behind when more than 1 % of its polls are missed, when fewer than 95 % of the
due MQTT messages arrive, or when the connectors are not all charging within the start-up
limit. Figures depend on the machine; they print, nothing asserts them.

``--profile DIR`` writes a CPU profile of the controller per size (py-spy's where it is
installed, else the controller's own SIGPROF sampler) and each frame's inclusive share.

    python benchmarks/scale.py [--max N] [--duration S] [--workers W] [--sizes 1,10,...]
                               [--no-pin] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import itertools
import json
import math
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SIZES = (1, 10, 100, 300, 1000, 2000)
CHARGER = "heidelberg_energy_control"
METER = "eastron_sdm630"
POLL_S = 1.0
BASE = "evse_manager"
START_LIMIT_S = 120.0
PWM_HOLD_S = 6.0  # the kernel holds PWM changes 5 s after the last one (IEC 61851-1)
COMMANDS_PER_S = 4.0
MISSED_LIMIT = 0.01
DELIVERED_LIMIT = 0.95
ROOT = Path(__file__).resolve().parents[1]
CONTROLLER_CPUS = {min(os.sched_getaffinity(0))}  # with --pin, the controller's one core


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5 - 1e-9)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------------- simulator worker


class _Recorder:
    """Request and setpoint-write timestamps of one worker's chargers (wall clock, which
    every process on the machine shares)."""

    def __init__(self) -> None:
        self.requests: dict[int, list[float]] = defaultdict(list)
        self.writes: list[tuple[float, int, float]] = []  # (time, connector, amps)

    def hook(self, index: int, charger: Any) -> None:
        on_request, on_write = charger.on_request, charger.on_write

        def request() -> None:
            self.requests[index].append(time.time())
            on_request()

        def write(reg: Any, words: list[int], value: Any) -> None:
            on_write(reg, words, value)
            if reg.name == "max_current":
                self.writes.append((time.time(), index, charger.setpoint_A))

        charger.on_request = request
        charger.on_write = write


async def _worker(first: int, count: int) -> None:
    """Serve ``count`` connectors; stdin: ``stats <since>`` / ``quit``; stdout: JSON."""
    from controller.clock import SystemClock  # noqa: PLC0415
    from controller.modbus.maps import load_map  # noqa: PLC0415
    from controller.simulation import SimulatedStation  # noqa: PLC0415
    from controller.simulator import ModbusSimulator  # noqa: PLC0415

    clock = SystemClock()
    charger_map, meter_map = load_map(CHARGER), load_map(METER)
    recorder = _Recorder()
    sims = []
    devices = {}
    for index in range(first, first + count):
        station = SimulatedStation(clock=clock)
        station.plug_in()
        station.draw_power(16.0, 3)
        sim = await _start_simulator(ModbusSimulator, station, charger_map, meter_map)
        recorder.hook(index, sim.charger)
        sims.append(sim)
        devices[index] = sim.devices(timeout_s=2.0)
    _say({"devices": devices})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := (await reader.readline()).decode().split():
        if line[0] == "stats":
            since = float(line[1])
            requests = {i: [t for t in ts if t >= since] for i, ts in recorder.requests.items()}
            writes = [w for w in recorder.writes if w[0] >= since]
            _say({"requests": requests, "writes": writes})
        elif line[0] == "quit":
            break
    for sim in sims:
        await sim.stop()


async def _start_simulator(kind: Any, station: Any, charger_map: Any, meter_map: Any) -> Any:
    """A simulator on free ports; several workers pick ports at once, so a port taken
    between picking and listening means trying again."""
    for attempt in range(10):
        sim = kind(station, charger_map, meter_map, port=0)
        try:
            await sim.start()
            return sim
        except RuntimeError:
            await sim.stop()
            if attempt == 9:
                raise
    raise AssertionError("unreachable")


def _say(data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------------- controller process


class CpuSampler:
    """Where this process spends its CPU time, for ``--profile`` without py-spy: SIGPROF
    every 5 ms of CPU time, and the Python stack it interrupts counted (collapsed stacks,
    ``frame;frame;... count`` per line, as py-spy's raw format). Idle time is not sampled."""

    def __init__(self) -> None:
        self.stacks: dict[str, int] = defaultdict(int)

    def start(self) -> None:
        import signal  # noqa: PLC0415

        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, 0.005, 0.005)

    def _sample(self, _signum: int, frame: Any) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{code.co_name} ({Path(code.co_filename).name}:{code.co_firstlineno})")
            frame = frame.f_back
        self.stacks[";".join(reversed(names))] += 1

    def stop(self, out: str) -> None:
        import signal  # noqa: PLC0415

        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        Path(out).write_text("".join(f"{k} {v}\n" for k, v in self.stacks.items()))


class LoopProbe:
    """How late the controller's event loop runs a 10 ms timer, and the cyclic GC's pauses:
    what a command arriving at a random moment waits for before it is handled."""

    TICK_S = 0.01

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self.gc_pauses: list[float] = []
        self._gc_started = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.TICK_S)
            self.stalls.append(max(0.0, loop.time() - before - self.TICK_S))

    def take(self) -> dict[str, float]:
        """Stall p99 / max and the longest GC pause (ms) since the last ``take``."""
        stalls, self.stalls = self.stalls, []
        pauses, self.gc_pauses = self.gc_pauses, []
        return {
            "stall99": percentile(stalls, 99) * 1000 if stalls else 0.0,
            "stall_max": max(stalls, default=0.0) * 1000,
            "gc_max": max(pauses, default=0.0) * 1000,
        }

    def close(self) -> None:
        gc.callbacks.remove(self._on_gc)


def record_command_arrivals(bridge: Any) -> list[tuple[float, int, float]]:
    """(when, connector index, amps) of every ``enforce_limits`` as the controller's bridge
    takes it from the broker: the benchmark's own probe (it wraps the bridge's handler),
    so a command's latency splits into getting there and what the controller took."""
    arrivals: list[tuple[float, int, float]] = []
    handle = bridge._on_message

    def on_message(client: Any, topic: str, payload: str | None, retain: bool = False) -> None:
        if topic.endswith("/cmd/enforce_limits") and payload is not None:
            limit = json.loads(payload)["args"]["value"]["limits_root_side"]
            index = int(topic.split("/")[1][1:])
            arrivals.append((time.time(), index, limit["ac_max_current_A"]["value"]))
        handle(client, topic, payload, retain=retain)

    bridge._on_message = on_message
    return arrivals


def record_writes_started(controller: Any) -> list[tuple[float, int, float]]:
    """(when, connector index, amps) of every output the controller starts writing to a
    charger (the benchmark wraps each connector's charger port)."""
    started: list[tuple[float, int, float]] = []
    for name, manager in controller.managers.items():
        charger, index = manager._charger, int(name[1:])
        apply = charger.apply

        async def on_apply(output: Any, apply: Any = apply, index: int = index) -> None:
            started.append((time.time(), index, output.current_A))
            await apply(output)

        charger.apply = on_apply
    return started


async def _controller(config_path: str) -> None:
    """Run the controller; stdin ``stats`` prints the bridge's outbox count (JSON),
    ``profile`` starts a ``CpuSampler``, ``profile-end FILE`` writes what it sampled."""
    from controller.app import Controller  # noqa: PLC0415
    from controller.config import load_config  # noqa: PLC0415
    from controller.mqtt import MqttBridge  # noqa: PLC0415
    from controller.service import freeze_start_up_heap  # noqa: PLC0415

    controller = Controller(load_config(config_path))
    await controller.start()
    freeze_start_up_heap()  # as run_until_signalled does after start
    bridge = next(a for a in controller.adapters if isinstance(a, MqttBridge))
    loop = asyncio.get_running_loop()
    probe = LoopProbe()
    probing = asyncio.create_task(probe.run())
    arrivals = record_command_arrivals(bridge)
    writing = record_writes_started(controller)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sampler = CpuSampler()
    try:
        while line := (await reader.readline()).decode().split():
            if line[0] == "stats":
                _say(
                    {
                        "queued": bridge.queued,
                        "unconfirmed": bridge.unconfirmed,
                        "arrivals": arrivals,
                        "writing": writing,
                        **probe.take(),
                    }
                )
            elif line[0] == "profile":
                sampler.start()
            elif line[0] == "profile-end":
                sampler.stop(line[1])
            else:
                break
    finally:
        probing.cancel()
        probe.close()
        await controller.stop()


# ---------------------------------------------------------------------- the benchmark


@dataclass
class Proc:
    """A child process speaking JSON lines."""

    proc: subprocess.Popen[str]

    @classmethod
    def start(cls, *args: str) -> Proc:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return cls(
            subprocess.Popen(
                [sys.executable, __file__, *args],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
        )

    async def read(self) -> Any:
        line = await asyncio.to_thread(self.proc.stdout.readline)  # type: ignore[union-attr]
        if not line:
            raise RuntimeError(f"child {self.proc.args} ended")
        return json.loads(line)

    def tell(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]

    async def ask(self, command: str) -> Any:
        self.tell(command)
        return await self.read()

    def stop(self) -> None:
        """Ask it to stop (it stops what it runs), then insist."""
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.proc.stdin.write("quit\n")  # type: ignore[union-attr]
                self.proc.stdin.flush()  # type: ignore[union-attr]
        for signal_it in (lambda: None, self.proc.terminate, self.proc.kill):
            signal_it()
            try:
                self.proc.wait(timeout=20)
                return
            except subprocess.TimeoutExpired:
                continue


class Broker:
    """A mosquitto for one size."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\nuser {getpass.getuser()}\n"
            "allow_anonymous true\npersistence false\nmax_queued_messages 1000000\n"
        )
        self.proc = subprocess.Popen(
            ["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@dataclass
class Counter:
    """What a subscriber received: messages per connector, charging connectors."""

    delivered: int = 0
    charging: set[str] = field(default_factory=set)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def waited_seconds(pid: int) -> float:
    """Time the process's threads were runnable but waited for a CPU (schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def config(n: int, devices: dict[int, Any], broker: int, workdir: Path) -> Path:
    connectors = {
        f"c{i:04d}": {**devices[i], "free_charging": True, "poll_interval_s": POLL_S}
        for i in range(n)
    }
    data = {
        "store": str(workdir / "sessions.db"),
        "connectors": connectors,
        "mqtt": {"host": "127.0.0.1", "port": broker, "client_id": "scale-controller"},
        "http": {"host": "127.0.0.1", "port": free_port(), "token": "bench-token-0123456789"},
    }
    path = workdir / "controller.yaml"
    path.write_text(json.dumps(data))  # JSON is YAML
    return path


def lags(
    requests: dict[str, list[float]],
    writes: list[tuple[float, int, float]],
    n: int,
    duration: float,
) -> tuple[list[float], int, int]:
    """Poll lags (s), scheduled polls seen and missed, from request timestamps.

    A poll is a burst of requests; the requests around a setpoint write (the write, and
    the manager reading back what it applied) are not a scheduled poll and are left out.
    A gap of k periods between scheduled polls is k - 1 missed ones (one fewer when a
    left-out burst lies in it: the scheduled poll may have merged into it).
    """
    written: dict[int, list[float]] = defaultdict(list)
    for t, index, _ in writes:
        written[index].append(t)
    all_lags: list[float] = []
    seen = 0
    missed = int(duration / POLL_S) * (n - len(requests))  # connectors never polled
    for key, stamps in requests.items():
        bursts: list[tuple[float, bool]] = []  # (start, around a write)
        last = -math.inf
        for t in sorted(stamps):
            if t - last > POLL_S / 4:
                bursts.append((t, any(-0.05 <= t - w < 0.3 for w in written[int(key)])))
            last = t
        polls = [t for t, skipped in bursts if not skipped]
        if not polls:
            missed += int(duration / POLL_S)
            continue
        seen += len(polls)
        for before, after in itertools.pairwise(polls):
            merged = any(skipped and before < t < after for t, skipped in bursts)
            missed += max(0, round((after - before) / POLL_S) - 1 - merged)
        offsets = [(t - polls[0]) - round(t - polls[0]) for t in polls]
        best = min(offsets)
        all_lags += [o - best for o in offsets]
    return all_lags, seen, missed


async def send_commands(sub: Any, n: int, duration: float) -> dict[tuple[int, float], float]:
    """Lower currents on random connectors for ``duration`` s over MQTT; returns
    (connector, amps) -> when sent. A connector is commanded again only after the PWM
    hold, so every command is due at the charger at once."""
    rng = random.Random(n)
    pending: dict[tuple[int, float], float] = {}
    last_command: dict[int, float] = {}
    amps: dict[int, float] = {}
    end = time.monotonic() + duration
    while time.monotonic() < end:
        await asyncio.sleep(rng.uniform(0, 2 / COMMANDS_PER_S))
        now = time.monotonic()
        index = rng.randrange(n)
        target = amps.get(index, 16.0) - 1.0
        if now - last_command.get(index, -1e9) < PWM_HOLD_S or target < 6.0:
            continue
        amps[index], last_command[index] = target, now
        limit = {
            "uuid": "evse_manager",
            "valid_for": 600,
            "limits_root_side": {"ac_max_current_A": {"value": target, "source": "bench"}},
        }
        pending[(index, target)] = time.time()
        topic = f"{BASE}/c{index:04d}/cmd/enforce_limits"
        await sub.publish(topic, json.dumps({"args": {"value": limit}}))
    return pending


def command_latencies(
    pending: dict[tuple[int, float], float], writes: list[tuple[float, int, float]]
) -> list[float]:
    """Milliseconds from each command to the first write of its current (if any)."""
    latencies = []
    for (index, target), sent in pending.items():
        hits = [t for t, i, a in writes if i == index and a == target and t >= sent]
        if hits:
            latencies.append((min(hits) - sent) * 1000)
    return latencies


def verdict(result: dict[str, Any], n: int, charging: int, due: int, delivered: int) -> str:
    """Why a size fell behind ("" if it kept up)."""
    reasons = []
    if charging < n:
        reasons.append(f"only {charging} of {n} charging after {START_LIMIT_S:g} s")
    if result["missed"] > MISSED_LIMIT:
        reasons.append(f"{result['missed']:.1%} of polls missed")
    if due and delivered / due < DELIVERED_LIMIT:
        reasons.append(f"{delivered / due:.0%} of due MQTT messages delivered")
    return "; ".join(reasons)


async def run_size(n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:  # noqa: PLR0915
    import aiomqtt  # noqa: PLC0415

    workers: list[Proc] = []
    controller: Proc | None = None
    broker = Broker(workdir)
    try:
        per = math.ceil(n / min(args.workers, n))
        for first in range(0, n, per):
            workers.append(Proc.start("--simulators", str(first), str(min(per, n - first))))
        devices: dict[int, Any] = {}
        for worker in workers:
            devices.update({int(k): v for k, v in (await worker.read())["devices"].items()})
        path = config(n, devices, broker.port, workdir)
        counter = Counter()
        async with aiomqtt.Client("127.0.0.1", broker.port, max_queued_incoming_messages=0) as sub:
            await sub.subscribe(f"{BASE}/#")
            await sub.subscribe("homeassistant/#")

            async def collect() -> None:
                async for message in sub.messages:
                    topic = message.topic.value
                    if "/result/" in topic or "/cmd/" in topic:
                        continue  # answers, and the benchmark's own commands
                    counter.delivered += 1
                    if topic.endswith("/state/charging") and message.payload == b"ON":
                        counter.charging.add(topic.split("/")[1])

            collector = asyncio.create_task(collect())
            started = time.monotonic()
            controller = Proc.start("--controller", str(path))
            if args.pin:
                os.sched_setaffinity(controller.proc.pid, CONTROLLER_CPUS)
            while len(counter.charging) < n:
                if time.monotonic() - started > START_LIMIT_S:
                    break
                await asyncio.sleep(0.5)
            start_s = time.monotonic() - started
            await asyncio.sleep(PWM_HOLD_S)  # the PWM set at the start is held 5 s

            # Measure.
            since = time.time()
            cpu0 = cpu_seconds(controller.proc.pid)
            sim0 = sum(cpu_seconds(w.proc.pid) for w in workers)
            rig0 = cpu_seconds(broker.proc.pid), cpu_seconds(os.getpid())
            wait0 = waited_seconds(controller.proc.pid)
            stats = await controller.ask("stats")
            queued0, delivered0, t0 = stats["queued"], counter.delivered, time.monotonic()
            profiled = _profile(args, controller, n)
            pending = await send_commands(sub, n, args.duration)
            duration = time.monotonic() - t0
            if profiled is not None:
                profiled()
            cpu = (cpu_seconds(controller.proc.pid) - cpu0) / duration * 100
            sim_cpu = (sum(cpu_seconds(w.proc.pid) for w in workers) - sim0) / duration * 100
            broker_cpu = (cpu_seconds(broker.proc.pid) - rig0[0]) / duration * 100
            bench_cpu = (cpu_seconds(os.getpid()) - rig0[1]) / duration * 100
            waited = (waited_seconds(controller.proc.pid) - wait0) / duration * 100
            rss = rss_mib(controller.proc.pid)
            stats = await controller.ask("stats")
            stalls = {k: stats[k] for k in ("stall99", "stall_max", "gc_max")}
            arrived = {(i, a): t for t, i, a in stats["arrivals"]}
            due = stats["queued"] - queued0
            for _ in range(20):  # what was on its way at the end of the window (2 s at most)
                if counter.delivered - delivered0 >= due:
                    break
                await asyncio.sleep(0.1)
            delivered = counter.delivered - delivered0
            requests: dict[str, list[float]] = {}
            writes: list[tuple[float, int, float]] = []
            for worker in workers:
                answer = await worker.ask(f"stats {since}")
                requests.update(answer["requests"])
                writes += [tuple(w) for w in answer["writes"]]
            await asyncio.sleep(1.0)
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
        poll_lags, seen, missed = lags(requests, writes, n, duration)
        command_ms = command_latencies(pending, writes)
        inside_ms = command_latencies(arrived, [tuple(w) for w in stats["writing"]])
        unanswered = len(pending) - len(command_ms)
        per_minute = 60 / duration / n
        expected = seen + missed
        result = {
            "n": n,
            "start_s": start_s,
            "cpu": cpu,
            "cpu_ms": cpu * 10 / n,  # % of a core -> ms of CPU per connector and second
            "rss": rss,
            "lag50": percentile(poll_lags, 50) * 1000,
            "lag99": percentile(poll_lags, 99) * 1000,
            "missed": missed / expected if expected else 0.0,
            "cmd50": percentile(command_ms, 50),
            "cmd99": percentile(command_ms, 99),
            "ctl50": percentile(inside_ms, 50),
            "ctl99": percentile(inside_ms, 99),
            "sim_cpu": sim_cpu,
            "broker_cpu": broker_cpu,
            "bench_cpu": bench_cpu,
            "waited": waited,
            "commands": len(command_ms),
            "unanswered": unanswered,
            "due": due * per_minute,
            "delivered": delivered * per_minute,
            **stalls,
        }
        result["behind"] = verdict(result, n, len(counter.charging), due, delivered)
        return result
    finally:
        if controller is not None:
            controller.stop()
        for worker in workers:
            worker.stop()
        broker.stop()


def _profile(args: argparse.Namespace, controller: Proc, n: int) -> Callable[[], None] | None:
    """A CPU profile of the controller for the measured window (``--profile DIR``): py-spy
    where it is installed, else the controller's own ``CpuSampler``; returns what ends it."""
    if args.profile is None:
        return None
    out = Path(args.profile).resolve() / f"controller-{n}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    if shutil.which("py-spy") is None:
        controller.tell("profile")

        def sampled() -> None:
            controller.tell(f"profile-end {out}")
            for _ in range(100):  # the controller writes it between its polls
                if out.exists():
                    write_shares(out)
                    return
                time.sleep(0.05)

        return sampled
    spy = subprocess.Popen(
        ["py-spy", "record", "-p", str(controller.proc.pid), "-d", str(int(args.duration)),
         "-f", "raw", "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def finish() -> None:
        spy.wait()
        write_shares(out)

    return finish


def write_shares(profile: Path, top: int = 60) -> None:
    """Beside a collapsed-stack profile, ``...-shares.txt``: each frame's inclusive share
    of the samples (the time spent in it and what it called), largest first."""
    total, inclusive = 0, defaultdict(int)
    for line in profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    ranked = sorted(inclusive.items(), key=lambda item: -item[1])[:top]
    text = "".join(f"{n / total:6.1%} {frame}\n" for frame, n in ranked)
    profile.with_name(profile.stem + "-shares.txt").write_text(text)


def header() -> None:
    print(
        f"{'connectors':>10} {'start s':>8} {'CPU %':>6} {'ms/conn/s':>9} {'RSS MiB':>8} "
        f"{'lag p50':>8} {'lag p99':>8} {'missed':>7} {'cmd p50':>8} {'cmd p99':>8} "
        f"{'ctl p50':>8} {'ctl p99':>8} "
        f"{'MQTT due':>9} {'delivered':>9} {'sim CPU %':>9} {'broker %':>8} {'bench %':>7} "
        f"{'CPU wait %':>10} "
        f"{'stall p99':>9} {'stall max':>9} {'GC max':>7}"
    )


def row(r: dict[str, Any]) -> None:
    print(
        f"{r['n']:>10} {r['start_s']:>8.1f} {r['cpu']:>6.0f} {r['cpu_ms']:>9.2f} {r['rss']:>8.0f} "
        f"{r['lag50']:>6.0f}ms {r['lag99']:>6.0f}ms {r['missed']:>7.1%} "
        f"{r['cmd50']:>6.0f}ms {r['cmd99']:>6.0f}ms {r['ctl50']:>6.0f}ms {r['ctl99']:>6.0f}ms "
        f"{r['due']:>9.0f} {r['delivered']:>9.0f} "
        f"{r['sim_cpu']:>9.0f} {r['broker_cpu']:>8.0f} {r['bench_cpu']:>7.0f} {r['waited']:>10.0f} "
        f"{r['stall99']:>7.0f}ms {r['stall_max']:>7.0f}ms {r['gc_max']:>5.0f}ms"
        + (f"   BEHIND: {r['behind']}" if r["behind"] else ""),
        flush=True,
    )


def cache_bytecode(folder: str) -> None:
    """Children (``Proc``) keep compiled modules in ``folder``; compile them there now."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = folder
    subprocess.run(
        [sys.executable, "-c", "import controller.app, controller.mqtt.bridge, "
         "controller.http.api, controller.simulator"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        check=True,
    )  # fmt: skip


async def bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as cache:
        cache_bytecode(cache)
        return await run_sizes(args)


async def run_sizes(args: argparse.Namespace) -> int:
    sizes = [s for s in args.sizes if s <= args.max]
    print(
        f"{CHARGER} + {METER} per connector over Modbus TCP on 127.0.0.1, poll {POLL_S:g} s, "
        f"MQTT (discovery on) + HTTP on, every EV charging; {args.workers} simulator "
        f"processes; {os.cpu_count()} CPUs"
        + (f", the controller pinned to CPU {min(CONTROLLER_CPUS)}" if args.pin else "")
        + f"; {args.duration:g} s per size",
        flush=True,
    )
    print("(MQTT due / delivered: messages per connector per minute)", flush=True)
    header()
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            result = await run_size(n, args, Path(tmp))
        row(result)
        if result["behind"]:
            break
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--simulators":
        asyncio.run(_worker(int(sys.argv[2]), int(sys.argv[3])))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "--controller":
        import logging  # noqa: PLC0415

        logging.basicConfig(level=logging.WARNING)
        asyncio.run(_controller(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=SIZES[-1], help="largest size to run")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds measured per size")
    parser.add_argument("--workers", type=int, default=4, help="simulator processes")
    parser.add_argument(
        "--profile", help="folder for CPU profiles of the controller (py-spy, else its own)"
    )
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(x) for x in text.split(",")],
        default=list(SIZES),
        help="comma-separated sizes (default 1,10,100,300,1000,2000)",
    )
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="do not pin the controller to CPU 0 and the rest of the benchmark to the others",
    )
    args = parser.parse_args()
    args.pin = args.pin and len(os.sched_getaffinity(0)) >= 2
    if args.pin:  # children inherit this; the controller is moved to its own CPU
        os.sched_setaffinity(0, os.sched_getaffinity(0) - CONTROLLER_CPUS)
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())

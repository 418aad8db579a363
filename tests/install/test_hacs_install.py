"""Install the integration as a user does and use it in a real Home Assistant process.

What HACS installs is the release zip (``hacs.json``: ``zip_release`` + ``filename``); a manual
install unpacks the same zip. So this test builds it with ``scripts/release``, unpacks only that
into a fresh config directory's ``custom_components/evse_manager/`` and starts ``hass`` from
``.venv-hass`` (made by ``scripts/bootstrap``): Home Assistant 2025.4.4 (``.venv-hass-2026``:
2026.2.3, with ``EVSE_HASS_VENV``) and nothing of this project, no controller and no
pymodbus, so Home Assistant itself installs the manifest's ``requirements`` from PyPI, as on a
user's machine (2026.2 under its ``package_constraints.txt``: pymodbus 3.11.2). Then it does
what a user does in the UI, through the same REST APIs the frontend calls: onboarding (owner,
location, analytics, integration step), "Add integration" -> Simulator, look at the entities,
run actions. The
README's "Installation" section describes exactly these steps.

``configuration.yaml`` holds only what onboarding and config flows need: ``http`` (loopback, a
free port), ``onboarding`` (which brings ``auth`` and ``person``), ``config`` (the config-entry
flow API) and ``api`` (states and actions). A user's ``default_config`` would load some forty
integrations and install dozens of unrelated packages (the frontend, zeroconf, bluetooth,
recorder backends, ...) at run time, for minutes, without testing anything of ours.
Onboarding's location step itself starts flows of Home Assistant's own (met, radio_browser,
google_translate, shopping_list), as for every user: they install their packages on the first
run after bootstrap, and radio_browser looks for its servers on the internet (which fails where
only PyPI is reachable); the log check below therefore looks only at our loggers and files.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from controller.clock import SystemClock
from controller.modbus.maps import load_map
from controller.simulation import SimulatedStation
from controller.simulator import ModbusSimulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
# ``.venv-hass`` (2025.4.4, the oldest supported) unless ``EVSE_HASS_VENV`` names another:
# ``scripts/test`` runs these tests again on ``.venv-hass-2026`` (2026.2.3, see bootstrap).
HASS_VENV = ROOT / os.environ.get("EVSE_HASS_VENV", ".venv-hass")
HASS_PYTHON = HASS_VENV / "bin" / "python"
DOMAIN = "evse_manager"
NAME = "Garage"  # the device name: entity ids are sensor.garage_*
REQUIREMENTS = ("pymodbus", "aiomqtt", "pyserial")  # manifest.json, by distribution name
START_TIMEOUT_S = 180.0  # first HTTP answer after `hass` starts
FLOW_TIMEOUT_S = 300.0  # the first config flow installs the requirements
STATE_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0
POLL_S = 0.5
# A log record starts with "2025-05-01 12:00:00.123 LEVEL (Thread) [logger] message".
RECORD = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ (?P<level>[A-Z]+) \((?P<thread>[^)]*)\) "
    r"\[(?P<logger>[^\]]+)\]"
)
FIND_SPEC = "import importlib.util as u, sys; print(*(n for n in sys.argv[1:] if u.find_spec(n)))"
OUR_LOGGERS = ("custom_components.evse_manager", "pymodbus", "aiomqtt")
VERSION_OF = "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))"
INSTALLING = re.compile(r"Attempting install of (\S+)")  # homeassistant.util.package, INFO
CORE_MODBUS = "lib/python3.*/site-packages/homeassistant/components/modbus/manifest.json"


@dataclass
class Hass:
    """A running ``hass`` process and where it answers."""

    process: subprocess.Popen[bytes]
    config: Path
    url: str

    @property
    def log(self) -> Path:
        return self.config / "home-assistant.log"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _build_release(out: Path) -> Path:
    """What a release publishes: scripts/release, run as CI's release workflow runs it."""
    target = out / "evse_manager.zip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "release"), str(target)], check=True)
    return target


def _unpack(archive: Path, config: Path) -> Path:
    """What HACS (or a user by hand) does with the zip: unpack into custom_components/<domain>/."""
    folder = config / "custom_components" / DOMAIN
    folder.mkdir(parents=True)
    with zipfile.ZipFile(archive) as release:
        release.extractall(folder)
    return folder


def _hass_env() -> dict[str, str]:
    """The user's environment: no PYTHONPATH to this checkout, the hass venv active.

    VIRTUAL_ENV matters: Home Assistant installs requirements with ``uv pip install``, which
    installs into $VIRTUAL_ENV; a leaked test-venv path would install there instead.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "UV_", "VIRTUAL"))}
    env["VIRTUAL_ENV"] = str(HASS_VENV)
    env["PATH"] = f"{HASS_VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _installed(names: tuple[str, ...], cwd: Path) -> list[str]:
    """Which of these distributions/modules the hass venv can import (run outside the repo)."""
    out = subprocess.run(
        [str(HASS_PYTHON), "-c", FIND_SPEC, *names],
        cwd=cwd,
        env=_hass_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def _pristine_venv(cwd: Path) -> None:
    """A Home Assistant that never saw this project: remove what an earlier run installed.

    Each run then installs the requirements the way a user's Home Assistant does (with the uv
    cache, a few seconds).
    """
    assert HASS_PYTHON.exists(), f"{HASS_VENV} is missing: run scripts/bootstrap"
    uv = [str(HASS_PYTHON), "-m", "uv", "pip"]
    subprocess.run(
        [*uv, "uninstall", "--python", str(HASS_PYTHON), *REQUIREMENTS],
        env=_hass_env(),
        check=True,
        capture_output=True,
    )
    assert (
        _installed(("pymodbus", "aiomqtt", "serial", "controller", "custom_components"), cwd) == []
    )


def _configuration(port: int, extra: str = "") -> str:
    return (
        "# Only what onboarding and config flows need (see the test's docstring).\n"
        "http:\n"
        "  server_host: 127.0.0.1\n"
        f"  server_port: {port}\n"
        "onboarding:\n"
        "config:\n"
        "api:\n"
        "logger:\n"  # Home Assistant's "Attempting install of ..." lines
        "  default: warning\n"
        "  logs:\n"
        "    homeassistant.util.package: info\n"
        f"{extra}"
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM (what systemd or docker stop sends), wait, kill on timeout (teardown)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT_S)
            pytest.fail(f"hass did not stop within {STOP_TIMEOUT_S} s of SIGTERM")
    return process.returncode


async def _terminate(process: subprocess.Popen[bytes]) -> int:
    """``_stop`` without blocking the event loop: SIGTERM, then poll the exit."""
    process.send_signal(signal.SIGTERM)

    async def exited() -> bool:
        return process.poll() is not None

    await _poll(exited, STOP_TIMEOUT_S)
    return _stop(process)


@contextmanager
def _hass_venv_alone() -> Iterator[None]:
    """One test at a time on ``.venv-hass`` (each empties and fills it), also under xdist."""
    with (HASS_VENV / ".test-lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def _running_hass(tmp_path: Path, extra_configuration: str = "") -> Iterator[Hass]:
    """A fresh config dir holding only the unpacked release, and ``hass -c`` running on it."""
    config = tmp_path / "config"
    config.mkdir()
    folder = _unpack(_build_release(tmp_path), config)
    assert not [p for p in folder.rglob("*") if p.is_symlink()], "the zip must hold real files"
    assert (folder / "controller" / "manager.py").is_file()
    assert (folder / "brand" / "icon.png").is_file()  # Home Assistant 2026.3+ shows it
    with _hass_venv_alone():
        _pristine_venv(tmp_path)
        port = _free_port()
        (config / "configuration.yaml").write_text(_configuration(port, extra_configuration))
        output = (tmp_path / "hass.out").open("wb")
        process = subprocess.Popen(
            [str(HASS_VENV / "bin" / "hass"), "-c", str(config)],
            cwd=config,
            env=_hass_env(),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Hass(process, config, f"http://127.0.0.1:{port}")
        finally:
            code = _stop(process)
            output.close()
            print(f"hass exited with {code}")


@pytest.fixture
def hass_process(socket_enabled, tmp_path: Path) -> Iterator[Hass]:
    """Home Assistant with only the release unpacked (a new user's)."""
    with _running_hass(tmp_path) as hass:
        yield hass


async def _poll(probe: Any, seconds: float) -> Any:
    """Call ``probe()`` until it returns something other than None/False, at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (result := await probe()) is not None and result is not False:
            return result
        await asyncio.sleep(POLL_S)
    return None


async def _until(what: str, seconds: float, probe: Any) -> Any:
    """``_poll``, failing the test on timeout."""
    result = await _poll(probe, seconds)
    if result is None:
        pytest.fail(f"timed out after {seconds} s waiting for {what}")
    return result


@pytest.fixture
async def http(hass_process: Hass) -> AsyncIterator[aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(total=FLOW_TIMEOUT_S)
    async with aiohttp.ClientSession(hass_process.url, timeout=timeout) as session:
        yield session


async def _importable(names: tuple[str, ...], cwd: Path) -> list[str]:
    """``_installed`` without blocking the event loop."""
    child = await asyncio.create_subprocess_exec(
        str(HASS_PYTHON), "-c", FIND_SPEC, *names, cwd=cwd, env=_hass_env(), stdout=subprocess.PIPE
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    return out.decode().split()


async def _wait_started(hass: Hass, http: aiohttp.ClientSession) -> None:
    async def answers() -> bool:
        assert hass.process.poll() is None, f"hass exited: {hass.log.read_text()[-3000:]}"
        try:
            async with http.get("/api/onboarding") as response:
                return response.status == 200
        except aiohttp.ClientConnectionError:
            return False

    await _until("hass to answer HTTP", START_TIMEOUT_S, answers)


async def _post(http: aiohttp.ClientSession, path: str, token: str | None, **kw: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(path, headers=headers, **kw) as response:
        body = await response.text()
        assert response.status == 200, f"{path}: {response.status} {body}"
        return json.loads(body)


async def _onboard(hass: Hass, http: aiohttp.ClientSession) -> str:
    """The onboarding wizard's calls: owner account, then its access token, then the steps."""
    client_id = f"{hass.url}/"
    user = await _post(
        http,
        "/api/onboarding/users",
        None,
        json={
            "client_id": client_id,
            "name": "Owner",
            "username": "owner",
            "password": "correct horse battery staple",
            "language": "en",
        },
    )
    tokens = await _post(
        http,
        "/auth/token",
        None,
        data={
            "grant_type": "authorization_code",
            "code": user["auth_code"],
            "client_id": client_id,
        },
    )
    token = str(tokens["access_token"])
    await _post(http, "/api/onboarding/core_config", token)
    await _post(http, "/api/onboarding/analytics", token)
    await _post(
        http,
        "/api/onboarding/integration",
        token,
        json={"client_id": client_id, "redirect_uri": f"{client_id}?auth_callback=1"},
    )
    async with http.get("/api/onboarding") as response:
        assert all(step["done"] for step in await response.json())
    return token


async def _add_simulator(http: aiohttp.ClientSession, token: str) -> str:
    """Settings -> Devices & services -> Add integration -> EVSE Manager -> Simulator."""
    flow = "/api/config/config_entries/flow"
    menu = await _post(http, flow, token, json={"handler": DOMAIN})
    assert menu["type"] == "menu", menu
    assert "simulator" in menu["menu_options"]
    form = await _post(http, f"{flow}/{menu['flow_id']}", token, json={"next_step_id": "simulator"})
    assert form["type"] == "form", form
    assert form["step_id"] == "simulator"
    fields = {field["name"] for field in form["data_schema"]}
    assert {"name", "map", "meter_map"} <= fields
    created = await _post(
        http,
        f"{flow}/{form['flow_id']}",
        token,
        json={"name": NAME, "map": "heidelberg_energy_control", "meter_map": "eastron_sdm630"},
    )
    assert created["type"] == "create_entry", created
    headers = {"Authorization": f"Bearer {token}"}
    async with http.get(f"/api/config/config_entries/entry?domain={DOMAIN}", headers=headers) as r:
        entries = await r.json()
    assert [e["title"] for e in entries] == [NAME]
    return str(entries[0]["entry_id"])


async def _states(http: aiohttp.ClientSession, token: str) -> dict[str, dict[str, Any]]:
    async with http.get("/api/states", headers={"Authorization": f"Bearer {token}"}) as response:
        assert response.status == 200
        return {s["entity_id"]: s for s in await response.json()}


async def _state_of(http: aiohttp.ClientSession, token: str, entity_id: str, want: Any) -> Any:
    """Wait until ``want(state)`` holds for the entity; returns its state object."""

    async def probe() -> dict[str, Any] | None:
        state = (await _states(http, token)).get(entity_id)
        return state if state is not None and want(state) else None

    return await _until(f"{entity_id} to satisfy {want}", STATE_TIMEOUT_S, probe)


async def _action(
    http: aiohttp.ClientSession, token: str, service: str, data: dict[str, Any]
) -> Any:
    """Developer tools -> Actions, with "return response" where the action has one."""
    query = "?return_response" if service in ("get_evse", "pause_charging") else ""
    body = await _post(http, f"/api/services/{DOMAIN}/{service}{query}", token, json=data)
    return body.get("service_response") if query else body


def _our_problems(log: str) -> list[str]:
    """ERROR records, blocking-call reports and tracebacks from the integration or its libraries."""
    records: list[list[str]] = []
    for line in log.splitlines():
        if RECORD.match(line) or not records:
            records.append([line])
        else:
            records[-1].append(line)
    problems = []
    for record in records:
        text = "\n".join(record)
        head = RECORD.match(record[0])
        ours = (head is not None and head["logger"].startswith(OUR_LOGGERS)) or any(
            mark in text
            for mark in ("custom_components/evse_manager", "integration 'evse_manager'")
        )
        bad = (head is not None and head["level"] in ("ERROR", "CRITICAL")) or (
            "Detected blocking call" in text or "Traceback" in text
        )
        if ours and bad:
            problems.append(text)
    return problems


async def test_release_zip_installs_and_runs_in_a_clean_home_assistant(hass_process, http):
    """From the zip to a charging simulated wallbox, as a new user gets there."""
    hass, started = hass_process, time.monotonic()
    await _wait_started(hass, http)
    up = time.monotonic()
    token = await _onboard(hass, http)
    entry_id = await _add_simulator(http, token)
    added = time.monotonic()
    # The requirements came from PyPI, installed by Home Assistant into its own venv.
    outside = hass.config.parent
    requirements = ("pymodbus", "aiomqtt", "serial")
    assert await _importable(requirements, outside) == list(requirements)
    assert await _importable(("controller",), outside) == []

    charging_state = "sensor.garage_charging_state"
    power = "sensor.garage_power"
    plugged = "binary_sensor.garage_plugged_in"
    idle = await _state_of(
        http, token, charging_state, lambda s: s["state"] not in ("unavailable", "unknown")
    )
    await _state_of(http, token, power, lambda s: s["state"] not in ("unavailable", "unknown"))
    ours = {k: v for k, v in (await _states(http, token)).items() if ".garage_" in k}
    unavailable = sorted(k for k, v in ours.items() if v["state"] == "unavailable")
    assert unavailable == [], unavailable
    print(f"{len(ours)} entities, charging state {idle['state']!r}")

    evse = await _action(http, token, "get_evse", {"config_entry_id": entry_id})
    assert evse["result"]["id"] == 1
    assert [c["id"] for c in evse["result"]["connectors"]] == [1]

    scenario = "plugin;iec_wait_pwr_ready;draw_power_regulated 16,3"
    await _action(http, token, "simulate_ev", {"config_entry_id": entry_id, "scenario": scenario})
    await _state_of(http, token, plugged, lambda s: s["state"] == "on")
    drawing = await _state_of(http, token, power, lambda s: float(s["state"]) > 1000)
    paused = await _action(http, token, "pause_charging", {"config_entry_id": entry_id})
    assert paused == {"result": True}
    await _state_of(http, token, power, lambda s: float(s["state"]) == 0)
    print(f"charged at {drawing['state']} W, then paused")

    code = await _terminate(hass.process)
    stopped = time.monotonic()
    assert code == 0
    log = hass.log.read_text()
    assert "evse_manager" in log  # the custom-integration notice: this is the log we mean
    problems = _our_problems(log)
    assert problems == [], "\n\n".join(problems)
    print(
        f"hass up {up - started:.1f} s, onboarding + entry (installs requirements) "
        f"{added - up:.1f} s, total {stopped - started:.1f} s"
    )


# --- The user with solar: Home Assistant core's Modbus integration reads the inverter (here:
# the simulator's meter) and pins its own pymodbus; ours must run on that one, not fight it.

SITE_CHARGER = "heidelberg_energy_control"
SITE_METER = "eastron_sdm630"
CORE_SENSOR = "sensor.site_voltage_l1"


@dataclass
class Site:
    """The project's simulator, served from the test venv (pymodbus 3.16.1) on 127.0.0.1."""

    station: SimulatedStation
    simulator: ModbusSimulator


@pytest.fixture
async def site(socket_enabled) -> AsyncIterator[Site]:
    station = SimulatedStation(clock=SystemClock())
    simulator = ModbusSimulator(station, load_map(SITE_CHARGER), load_map(SITE_METER), port=0)
    await simulator.start()
    try:
        yield Site(station, simulator)
    finally:
        await simulator.stop()


def _core_modbus(site: Site) -> str:
    """configuration.yaml's ``modbus:``: a TCP hub with one sensor (the meter's L1 voltage)."""
    meter = site.simulator.devices()["meter"]["connection"]
    voltage = load_map(SITE_METER).registers["voltage_l1"]
    return (
        "modbus:\n"
        "  - name: site\n"
        "    type: tcp\n"
        "    host: 127.0.0.1\n"
        f"    port: {meter['port']}\n"
        "    sensors:\n"
        "      - name: Site voltage L1\n"
        f"        address: {voltage.address}\n"
        f"        device_address: {meter['unit']}\n"
        "        input_type: input\n"
        "        data_type: float32\n"
        "        unit_of_measurement: V\n"
        "        scan_interval: 1\n"
    )


@pytest.fixture
def hass_with_core_modbus(site: Site, tmp_path: Path) -> Iterator[Hass]:
    with _running_hass(tmp_path, _core_modbus(site)) as hass:
        yield hass


def _core_pymodbus() -> str:
    """The version Home Assistant's own Modbus integration pins (``pymodbus==X``)."""
    (manifest,) = HASS_VENV.glob(CORE_MODBUS)
    (requirement,) = json.loads(manifest.read_text())["requirements"]
    name, version = requirement.split("==")
    assert name == "pymodbus"
    return version


async def _version(name: str, cwd: Path) -> str:
    """The installed version of a distribution in the hass venv."""
    child = await asyncio.create_subprocess_exec(
        *(str(HASS_PYTHON), "-c", VERSION_OF, name),
        cwd=cwd,
        env=_hass_env(),
        stdout=subprocess.PIPE,
    )
    out, _ = await child.communicate()
    assert child.returncode == 0
    return out.decode().strip()


def _installs(log: str) -> list[str]:
    """What Home Assistant installed so far, in order (``Attempting install of X``)."""
    return INSTALLING.findall(log)


async def _add_modbus_charger(http: aiohttp.ClientSession, token: str, site: Site) -> str:
    """Add integration -> EVSE Manager -> Charger over Modbus, at the simulator's address."""
    devices = site.simulator.devices()
    charger, meter = devices["charger"]["connection"], devices["meter"]["connection"]
    flow = "/api/config/config_entries/flow"
    menu = await _post(http, flow, token, json={"handler": DOMAIN})
    form = await _post(http, f"{flow}/{menu['flow_id']}", token, json={"next_step_id": "modbus"})
    assert form["step_id"] == "modbus", form
    created = await _post(
        http,
        f"{flow}/{form['flow_id']}",
        token,
        json={
            "name": NAME,
            "map": SITE_CHARGER,
            "kind": "tcp",
            "host": "127.0.0.1",
            "port": charger["port"],
            "unit": load_map(SITE_CHARGER).transport.unit,
            "meter_map": SITE_METER,
            "meter_host": "127.0.0.1",
            "meter_port": meter["port"],
            "meter_unit": meter["unit"],
        },
    )
    assert created["type"] == "create_entry", created
    return str(created["result"]["entry_id"])


async def test_release_zip_runs_beside_core_modbus_on_its_pymodbus(hass_with_core_modbus, site):
    """Core's Modbus integration installs its pymodbus pin at start; ours then finds it
    inside its range: no reinstall, and both integrations read their devices on it."""
    hass = hass_with_core_modbus
    outside = hass.config.parent
    timeout = aiohttp.ClientTimeout(total=FLOW_TIMEOUT_S)
    async with aiohttp.ClientSession(hass.url, timeout=timeout) as http:
        await _wait_started(hass, http)  # HTTP answers before core's Modbus is set up
        token = await _onboard(hass, http)
        core = await _state_of(http, token, CORE_SENSOR, lambda s: _number(s["state"]))
        assert 200 < float(core["state"]) < 260, core  # the simulated meter's 230 V
        pin = _core_pymodbus()
        assert await _version("pymodbus", outside) == pin
        assert [i for i in _installs(hass.log.read_text()) if "pymodbus" in i] == [
            f"pymodbus=={pin}"
        ]

        await _add_modbus_charger(http, token, site)
        await _state_of(
            http, token, "sensor.garage_charging_state", lambda s: s["state"] != "unavailable"
        )
        site.station.plug_in()
        site.station.draw_power(16.0, 3)
        drawing = await _state_of(
            http, token, "sensor.garage_power", lambda s: (_number(s["state"]) or 0) > 1000
        )
        ours = {k: v for k, v in (await _states(http, token)).items() if ".garage_" in k}
        unavailable = sorted(k for k, v in ours.items() if v["state"] == "unavailable")
        assert unavailable == [], unavailable
        # Our requirement held what core installed: no second pymodbus install, same version.
        assert await _version("pymodbus", outside) == pin
        installs = _installs(hass.log.read_text())
        assert [i for i in installs if "pymodbus" in i] == [f"pymodbus=={pin}"], installs
        assert (await _states(http, token))[CORE_SENSOR]["state"] not in ("unavailable", "unknown")
        print(
            f"pymodbus {pin} for both; core's sensor {core['state']} V, ours {drawing['state']} W"
        )
        assert await _terminate(hass.process) == 0
    problems = _our_problems(hass.log.read_text())
    assert problems == [], "\n\n".join(problems)


def _number(state: str) -> float | None:
    """A sensor state as a number (None while unknown or unavailable)."""
    try:
        return float(state)
    except ValueError:
        return None

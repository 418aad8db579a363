"""The charge-controller port over any charger map.

Modbus wallboxes generate the PWM themselves: we write a current setpoint (and an enable
bit where the device has one) and read back the CP state they measure. The kernel's
level-based ``ChargerOutput`` becomes: charging allowed -> setpoint = signalled current;
anything else -> the map's ``off_value`` (or enable = disabled). Writes go out only on
change, and a setpoint the device can read back is verified. Where the device has a
watchdog we configure its timeout and failsafe current at connect and keep it alive from
``read_status`` (which the manager calls every poll), so a controller that dies leaves the
charger at its failsafe current.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from ..clock import Clock, SystemClock
from ..errors import DeviceError
from ..everest import (
    Ampacity,
    ConnectorType,
    CpState,
    Error,
    HardwareCapabilities,
    Severity,
    Telemetry,
)
from ..ports import ChargerInfo, ChargerOutput, ChargerStatus
from .device import Block, MappedDevice, plan_reads
from .maps import DeviceMap, Value, load_map
from .transport import ModbusBus, RefusedError

_LOGGER = logging.getLogger(__name__)

STATUS_NAMES = (
    "cp_state",
    "plugged",
    "relays",
    "error_code",
    "current_l1",
    "current_l2",
    "current_l3",
    "pp_ampacity",
    "temperature",
    "phases_state",
    "lock_state",
)
IDENTITY_NAMES = ("serial", "firmware", "model", "hw_max_current", "hw_min_current")
AMPACITY = (
    (63.0, Ampacity.A_63_3ph_70_1ph),
    (32.0, Ampacity.A_32),
    (20.0, Ampacity.A_20),
    (13.0, Ampacity.A_13),
)


@dataclass(frozen=True, kw_only=True)
class ChargerSettings:
    """What the installation narrows: the fuse, the phases wired, the failsafe current."""

    max_current_A: float | None = None
    min_current_A: float | None = None
    phases: int | None = None
    failsafe_current_A: float = 0.0
    watchdog_timeout_s: float | None = None


class ModbusCharger:
    """ChargeControllerPort over a charger map."""

    def __init__(
        self,
        device_map: DeviceMap,
        bus: ModbusBus,
        unit: int | None = None,
        settings: ChargerSettings | None = None,
        clock: Clock | None = None,
    ) -> None:
        if device_map.kind != "charger":
            raise ValueError(f"{device_map.id} is a {device_map.kind} map, not a charger map")
        self.device = MappedDevice(
            device_map, bus, device_map.transport.unit if unit is None else unit
        )
        self.settings = settings or ChargerSettings()
        self._clock = clock or SystemClock()
        self._status_plan: list[Block] = self.device.plan(STATUS_NAMES)
        self._last_keepalive = -math.inf
        self._setpoint: Value | None = None
        self._phases_active: int | None = None
        self._phases_refused = False
        self._keepalive_s = math.inf
        self._timeout_s: float | None = None
        self._last_status: tuple[tuple[object, ...], ChargerStatus] | None = None

    @property
    def map(self) -> DeviceMap:
        """The device map."""
        return self.device.map

    # ------------------------------------------------------------------ connect

    async def connect(self) -> ChargerInfo:
        """Open the bus, find the firmware variant and the optional registers it has, bring
        the map's init settings and the watchdog to what we need (writing only what differs:
        they are retentive), read identity."""
        await self.device.bus.connect()
        self.device.forget()
        await self._detect_variant()
        missing = await self.device.probe()
        if missing:
            _LOGGER.info("%s: this firmware lacks %s", self.map.id, ", ".join(missing))
        self._status_plan = self.device.plan(STATUS_NAMES)
        self._phases_refused = False
        for name, value in self.map.init:
            reg = self.map[name]
            raw = value if isinstance(value, int) else reg.raw_for(value)
            await self._settle(name, reg.encode_raw(raw))
        await self._configure_watchdog()
        identity = await self._read_identity()
        return ChargerInfo(
            capabilities=self._capabilities(identity),
            has_lock=self.device.has("lock"),
            vendor=self.map.manufacturer,
            model=str(identity.get("model") or self.map.model),
            serial=_text(identity.get("serial")),
            firmware=_text(identity.get("firmware")),
            current_step_A=self.map.capabilities.current_step_A,
        )

    async def _read_identity(self) -> dict[str, Value | None]:
        try:
            return await self.device.read(IDENTITY_NAMES)
        except DeviceError as err:
            # Identity is nice to have; a device without these registers still charges.
            _LOGGER.debug("%s: identity not readable: %s", self.map.id, err)
            return {}

    async def _detect_variant(self) -> None:
        """Two firmwares behind one controller (Phoenix whole A / Wallbe 0.1 A): the
        device says which, whatever map the user picked."""
        variants = self.map.variants
        if variants is None:
            return
        raw = await self.device.read_raw(variants.register)
        chosen = (
            variants.at_least
            if isinstance(raw, int) and raw >= variants.raw_at_least
            else variants.below
        )
        if chosen != self.map.id:
            _LOGGER.info(
                "%s: %s reads %s: the device is a %s", self.map.id, variants.register, raw, chosen
            )
            self.device.map = self.device.layout = load_map(chosen)

    async def _settle(self, name: str, words: list[int]) -> None:
        """Bring a setting to ``words``: read it first where the device allows and write
        only if it differs (retentive registers wear); a refused write is logged, never
        fatal - the device keeps the installer's value."""
        reg = self.map[name]
        if reg.readable:
            current = (await self.device.read_words(plan_reads([reg], self.device.unit)))[name]
            if current == words:
                self.device.remember(name, words)
                return
        try:
            await self.device.write_words(reg, words, force=True)
        except RefusedError as err:
            _LOGGER.warning(
                "%s: %s refused (%s); keeping the device's value", self.map.id, name, err
            )

    async def _configure_watchdog(self) -> None:
        watchdog = self.map.watchdog
        if watchdog is None:
            return
        self._keepalive_s = watchdog.interval_s
        self._timeout_s = watchdog.timeout_s
        if self.device.has("failsafe_current"):
            await self._settle("failsafe_current", self._failsafe_words())
        if self.device.has("watchdog_timeout") or self.device.has("watchdog_timeout_state"):
            timeout = await self._device_timeout()
            wanted = self.settings.watchdog_timeout_s or timeout or watchdog.timeout_s
            if self.device.has("watchdog_timeout"):
                await self._settle("watchdog_timeout", self.map["watchdog_timeout"].encode(wanted))
            # Keep alive at the device's own timeout, as evcc does (every timeout / 2).
            self._keepalive_s = min(watchdog.interval_s, wanted / 2)
            self._timeout_s = wanted

    async def _device_timeout(self) -> float | None:
        """The watchdog timeout the device reports (None: off or unreadable); KEBA reports
        it in a register of its own (1602) beside the one written (5018)."""
        name = (
            "watchdog_timeout_state"
            if self.device.has("watchdog_timeout_state")
            else "watchdog_timeout"
        )
        if not self.map[name].readable:
            return None
        try:
            value = (await self.device.read((name,))).get(name)
        except RefusedError:
            return None
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    def _failsafe_words(self) -> list[int]:
        amps = self.settings.failsafe_current_A
        reg = self.map["failsafe_current"]
        if amps <= 0 and reg.off_value is not None:
            return reg.encode_raw(reg.off_value)
        return reg.encode(amps)

    def _capabilities(self, identity: dict[str, Value | None]) -> HardwareCapabilities:
        caps = self.map.capabilities
        max_a = _number(identity.get("hw_max_current")) or caps.max_current_A
        min_a = _number(identity.get("hw_min_current")) or caps.min_current_A
        if self.settings.max_current_A is not None:
            max_a = min(max_a, self.settings.max_current_A)
        if self.settings.min_current_A is not None:
            min_a = max(min_a, self.settings.min_current_A)
        phases = min(caps.phases, self.settings.phases or caps.phases)
        switching = self.device.has("phases") and phases == 3
        return HardwareCapabilities(
            max_current_A_import=max_a,
            min_current_A_import=min_a,
            max_phase_count_import=phases,
            min_phase_count_import=1 if switching else phases,
            max_current_A_export=0.0,
            min_current_A_export=0.0,
            max_phase_count_export=phases,
            min_phase_count_export=1 if switching else phases,
            supports_changing_phases_during_charging=switching,
            supports_cp_state_E=caps.supports_cp_state_E,
            # A socket reports the cable's PP rating; a map without one is a tethered cable
            # (EVerest's Charger waits for PP on a socket before charging).
            connector_type=ConnectorType.IEC62196Type2Socket
            if self.device.has("pp_ampacity")
            else ConnectorType.IEC62196Type2Cable,
        )

    # ------------------------------------------------------------------ status

    async def read_status(self) -> ChargerStatus:
        """One poll; also keeps the device's watchdog alive. Registers that read as at
        the previous poll (with the same setpoint and phases, which the status also
        depends on) give the previous status: nothing is decoded again."""
        words = await self.device.read_words(self._status_plan)
        key = (self.device.map, self._allowed(), self._phases_active, words)
        last = self._last_status
        if last is not None and last[0] == key:
            status = last[1]
        else:
            status = self._status(words)
            self._last_status = (key, status)
        await self._recover(words["cp_state"])
        await self._keepalive()
        return status

    def _status(self, words: dict[str, list[int]]) -> ChargerStatus:
        """The status the registers' ``words`` stand for."""
        values = {name: self._decode_status(name, w) for name, w in words.items()}
        errors = self._errors(words)
        cp_value = values.get("cp_state")
        if not isinstance(cp_value, str):
            raise DeviceError(f"{self.map.id}: cp_state unreadable ({words.get('cp_state')})")
        if values.get("plugged") == "unplugged":
            # The charging state alone does not say whether a car is there (KEBA, Vestel,
            # openWB): without a plugged car the CP state is A.
            cp_value = "A"
        cp = CpState(cp_value[0])
        return ChargerStatus(
            cp=cp,
            relays_on=self._relays_on(cp_value, values),
            pp_ampacity=_ampacity(values.get("pp_ampacity")),
            phases_active=self._phases(values),
            errors=frozenset(errors),
            telemetry=self._telemetry(cp_value, values),
        )

    async def _recover(self, cp_words: list[int]) -> None:
        """A state the map knows how to leave (ABL E0: write 0xA1A1 to 0x0005; Heidelberg
        F with the remote lock engaged: 259 = 1): do it, as evcc does."""
        reg = self.map["cp_state"]
        if not reg.recover:
            return
        raw = reg.raw(cp_words)
        action = reg.recover.get(raw) if isinstance(raw, int) else None
        if action is None:
            return
        name, value = action
        _LOGGER.info("%s: cp_state %#x: writing %#x to %s", self.map.id, raw, value, name)
        self.device.forget_one(name)
        await self._settle(name, self.map[name].encode_raw(value))

    def _decode_status(self, name: str, words: list[int]) -> Value | None:
        """Garbage raises, except in ``error_code``: an unknown code is a VendorError."""
        if name == "error_code":
            try:
                return self.map[name].decode(words)
            except ValueError:
                return None
        return self.device.decode(name, words)

    def _errors(self, words: dict[str, list[int]]) -> set[Error]:
        errors: set[Error] = set()
        for name in ("cp_state", "error_code"):
            if name not in words:
                continue
            reg = self.map[name]
            error_type = reg.error(words[name])
            raw = reg.raw(words[name])
            if error_type:
                errors.add(_error(error_type, f"{self.map.title}: {name} = {raw}"))
            elif name == "error_code" and raw not in reg.values and raw not in (0, None):
                errors.add(
                    _error("evse_board_support/VendorError", f"{self.map.title}: error code {raw}")
                )
        return errors

    def _relays_on(self, cp_value: str, values: dict[str, Value | None]) -> bool:
        relays = values.get("relays")
        if relays is not None:
            return bool(relays)
        currents = [_number(values.get(f"current_l{n}")) or 0.0 for n in (1, 2, 3)]
        if any(c > 0.5 for c in currents):
            return True
        # No relay register: the contactor is closed while the EV draws with PWM on.
        return cp_value in ("C2", "D2") or (cp_value in ("C", "D") and self._allowed())

    def _allowed(self) -> bool:
        return self._setpoint is not None and self._setpoint != "off"

    def _phases(self, values: dict[str, Value | None]) -> int | None:
        state = values.get("phases_state")
        if isinstance(state, (int, float)) and int(state) in (1, 3):
            return int(state)
        return self._phases_active

    def _telemetry(self, cp_value: str, values: dict[str, Value | None]) -> Telemetry:
        return Telemetry(
            evse_temperature_C=_number(values.get("temperature")) or 0.0,
            fan_rpm=0.0,
            supply_voltage_12V=12.0,
            supply_voltage_minus_12V=-12.0,
            relais_on=self._relays_on(cp_value, values),
        )

    async def _keepalive(self) -> None:
        watchdog = self.map.watchdog
        if watchdog is None or watchdog.refresh == "traffic":
            return
        now = self._clock.monotonic()
        if now - self._last_keepalive < min(watchdog.interval_s, self._keepalive_s):
            return
        if watchdog.refresh == "heartbeat" and self.device.has("heartbeat"):
            await self.device.write("heartbeat", self._heartbeat_value(), force=True)
        elif watchdog.refresh == "setpoint" and self._setpoint is not None:
            await self._write_setpoint(self._setpoint, force=True)
        self._last_keepalive = now

    def _heartbeat_value(self) -> Value:
        """The map's beat value, 1, or - for a heartbeat with a time unit (KEBA 5018) - the
        watchdog timeout itself, which the device restarts on every write."""
        reg = self.map["heartbeat"]
        if reg.unit is not None and self._timeout_s is not None:
            return self._timeout_s
        return next(iter(reg.values.values())) if reg.values else 1

    # ------------------------------------------------------------------ output

    async def apply(self, output: ChargerOutput) -> None:
        """Write setpoint, enable, phases and lock where they changed. Phases and lock are
        optional: a device that refuses them is still charged (and not asked again for
        phases)."""
        if (
            self.device.has("phases")
            and not self._phases_refused
            and output.phases != self._phases_active
        ):
            if await self._optional_write("phases", output.phases):
                self._phases_active = output.phases
            else:
                self._phases_refused = True
        if self.device.has("lock"):
            await self._optional_write("lock", "locked" if output.locked else "unlocked")
        if output.charging_allowed:
            await self._write_setpoint(self._amps(output.current_A))
            await self._write_enable(True)
        else:
            await self._write_enable(False)
            await self._write_setpoint("off")

    async def _optional_write(self, name: str, value: Value) -> bool:
        """Write ``value``; False (logged) if the device refuses it."""
        try:
            await self.device.write(name, value)
        except RefusedError as err:
            _LOGGER.warning("%s: %s = %s refused: %s", self.map.id, name, value, err)
            return False
        return True

    def _amps(self, amps: float) -> float:
        caps = self.map.capabilities
        step = caps.current_step_A
        low = self.settings.min_current_A or caps.min_current_A
        high = min(caps.max_current_A, self.settings.max_current_A or caps.max_current_A)
        clamped = max(low, min(high, amps))
        return round(math.floor(clamped / step + 1e-9) * step, 3)

    async def _write_enable(self, on: bool) -> None:
        if self.device.has("enable"):
            await self.device.write("enable", "enabled" if on else "disabled")

    async def _write_setpoint(self, value: Value, *, force: bool = False) -> None:
        """``off`` pauses: the map's off_value, or (with an enable register) unchanged."""
        self._setpoint = value
        reg = self.map["max_current"]
        if value == "off":
            if reg.off_value is None:
                return  # the enable register alone stops charging
            sent = await self.device.write_raw("max_current", reg.off_value, force=force)
        elif reg.per_phase_V is not None and isinstance(value, (int, float)):
            sent = await self.device.write_raw("max_current", self._power_raw(value), force=force)
        else:
            sent = await self.device.write("max_current", value, force=force)
        if sent and reg.readable:
            await self.device.verify("max_current")

    def _power_raw(self, amps: float) -> int:
        """A power limit for ``amps`` on the phases charged, rounded down to the register's
        step so the EV never gets more than asked (evcc truncates the same way)."""
        reg = self.map["max_current"]
        caps = self.map.capabilities
        phases = self._phases_active or min(caps.phases, self.settings.phases or caps.phases)
        watts = amps * (reg.per_phase_V or 230.0) * phases
        return math.floor(watts / float(reg.factor) + 1e-9)

    async def close(self) -> None:
        """Stop charging (the device's safe state) and release the bus."""
        try:
            await self.apply(
                ChargerOutput.safe(self._phases_active or self.map.capabilities.phases)
            )
        except DeviceError as err:
            _LOGGER.warning("%s: could not stop charging on close: %s", self.map.id, err)
        finally:
            self.device.forget()


def _error(error_type: str, message: str) -> Error:
    return Error(
        type=error_type, message=message, severity=Severity.High, origin="evse_board_support"
    )


def _number(value: Value | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


def _text(value: Value | None) -> str | None:
    """A register as text: a whole number without ``.0`` (firmware revision 100)."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _ampacity(value: Value | None) -> Ampacity:
    amps = _number(value)
    if amps is None:
        return Ampacity.None_
    for limit, ampacity in AMPACITY:
        if amps >= limit:
            return ampacity
    return Ampacity.None_

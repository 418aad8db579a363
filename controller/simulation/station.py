"""Physics of one charge point: what the charge controller drives, what the EV does, and
what the meter measures. The in-memory ports and the Modbus simulator both observe this.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ..clock import Clock, rfc3339
from ..everest import (
    Ampacity,
    ConnectorType,
    CpState,
    Current,
    Energy,
    Error,
    Frequency,
    HardwareCapabilities,
    Power,
    Powermeter,
    Severity,
    Telemetry,
    Voltage,
)
from ..kernel.pwm import current_from_duty
from ..ports import ChargerOutput, ChargerStatus, CpMode

DEFAULT_CAPABILITIES = HardwareCapabilities(
    max_current_A_import=32.0,
    min_current_A_import=6.0,
    max_phase_count_import=3,
    min_phase_count_import=1,
    max_current_A_export=0.0,
    min_current_A_export=0.0,
    max_phase_count_export=3,
    min_phase_count_export=1,
    supports_changing_phases_during_charging=True,
    supports_cp_state_E=False,
    connector_type=ConnectorType.IEC62196Type2Socket,
)


@dataclass
class SimulatedEV:
    """An EV following IEC 61851: B when plugged, C when it wants energy and sees PWM."""

    plugged: bool = False
    wants_power: bool = False
    paused: bool = False
    max_current_A: float = 16.0
    phases: int = 3
    fixed_current_A: float | None = None  # draws this regardless of PWM (over-current test)
    cp_short: bool = False  # state E


@dataclass
class SimulatedStation:
    """The truth the ports observe; advance() integrates energy over the clock."""

    clock: Clock
    capabilities: HardwareCapabilities = DEFAULT_CAPABILITIES
    has_lock: bool = True
    voltage_V: float = 230.0
    ampacity: Ampacity = Ampacity.A_32
    energy_Wh: float = 0.0
    ev: SimulatedEV = field(default_factory=SimulatedEV)
    output: ChargerOutput = field(default_factory=ChargerOutput.safe)
    board_errors: set[Error] = field(default_factory=set)
    link_up: bool = True
    stop_button: bool = False
    writes: int = 0
    _last_mono: float | None = None

    # ------------------------------------------------------------------ EV actions

    def plug_in(self) -> None:
        """Connect the EV (B)."""
        self.advance()
        self.ev.plugged = True

    def unplug(self) -> None:
        """Disconnect the EV (A)."""
        self.advance()
        self.ev = replace(self.ev, plugged=False, wants_power=False, paused=False)

    def draw_power(self, max_current_A: float = 16.0, phases: int = 3) -> None:
        """EV requests energy: C while PWM is valid, else B."""
        self.advance()
        self.ev.wants_power = True
        self.ev.paused = False
        self.ev.max_current_A = max_current_A
        self.ev.phases = phases

    def pause(self) -> None:
        """EV pauses by itself (C -> B)."""
        self.advance()
        self.ev.paused = True

    def resume(self) -> None:
        """EV resumes (B -> C when PWM is present)."""
        self.advance()
        self.ev.paused = False

    def inject_error(self, error_type: str, severity: Severity = Severity.High) -> None:
        """A board error such as evse_board_support/DiodeFault or ac_rcd/DC."""
        self.board_errors.add(Error(type=error_type, message="simulated", severity=severity))

    def clear_errors(self) -> None:
        """All board errors go away."""
        self.board_errors.clear()

    # ------------------------------------------------------------------ physics

    def cp_state(self) -> CpState:
        """The CP state the charge controller measures."""
        if not self.ev.plugged:
            return CpState.A
        if self.ev.cp_short:
            return CpState.E
        if self.ev.fixed_current_A is not None:
            return CpState.C
        if self.ev.wants_power and not self.ev.paused and self._pwm_current() > 0:
            return CpState.C
        return CpState.B

    def _pwm_current(self) -> float:
        out = self.output
        if not out.enabled or out.cp is not CpMode.PWM:
            return 0.0
        return current_from_duty(out.duty_cycle)

    def relays_on(self) -> bool:
        """Contactors close when allowed and the EV asks for power."""
        return self.output.allow_power and self.cp_state().requests_power

    def phase_currents(self) -> tuple[float, float, float]:
        """Current per phase the EV draws now."""
        if not self.relays_on():
            return (0.0, 0.0, 0.0)
        if self.ev.fixed_current_A is not None:
            amps = self.ev.fixed_current_A
        else:
            amps = min(self._pwm_current(), self.ev.max_current_A)
        phases = min(self.ev.phases, self.output.phases)
        return tuple(amps if i < phases else 0.0 for i in range(3))  # type: ignore[return-value]

    def power_W(self) -> float:
        """Active power drawn."""
        return sum(self.phase_currents()) * self.voltage_V

    def advance(self) -> None:
        """Integrate energy up to now (called before every change and every reading)."""
        now = self.clock.monotonic()
        if self._last_mono is not None and now > self._last_mono:
            self.energy_Wh += self.power_W() * (now - self._last_mono) / 3600.0
        self._last_mono = now

    def apply(self, output: ChargerOutput) -> None:
        """The charge controller receives a new output."""
        self.advance()
        if output != self.output:
            self.writes += 1
        self.output = output

    def status(self) -> ChargerStatus:
        """What a poll of the charge controller returns."""
        self.advance()
        stop, self.stop_button = self.stop_button, False
        return ChargerStatus(
            cp=self.cp_state(),
            relays_on=self.relays_on(),
            pp_ampacity=self.ampacity,
            phases_active=self.output.phases,
            errors=frozenset(self.board_errors),
            telemetry=Telemetry(
                evse_temperature_C=25.0,
                fan_rpm=0.0,
                supply_voltage_12V=12.0,
                supply_voltage_minus_12V=-12.0,
                relais_on=self.relays_on(),
            ),
            stop_requested=stop,
        )

    def meter_sample(self) -> Powermeter:
        """What the meter measures now."""
        self.advance()
        l1, l2, l3 = self.phase_currents()
        v = self.voltage_V
        return Powermeter(
            timestamp=rfc3339(self.clock.now()),
            meter_id="SIM-METER-1",
            energy_Wh_import=Energy(total=self.energy_Wh),
            energy_Wh_export=Energy(total=0.0),
            power_W=Power(total=(l1 + l2 + l3) * v, L1=l1 * v, L2=l2 * v, L3=l3 * v),
            voltage_V=Voltage(L1=v, L2=v, L3=v),
            current_A=Current(L1=l1, L2=l2, L3=l3),
            frequency_Hz=Frequency(L1=50.0),
        )

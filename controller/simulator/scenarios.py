"""Scriptable EV behaviour in the language of EVerest's car simulator.

A scenario is a string such as ``plugin;iec_wait_pwr_ready;draw_power_regulated 16,3;
sleep 3600;unplug`` (commands split by ``;`` or newlines, arguments by spaces or commas,
case-insensitive), so test scripts and SIL habits carry over. It drives a
``SimulatedStation`` and lets time pass through a ``wait`` callback: real sleeps when the
simulator serves a live controller, a manual clock plus a poll in tests and the demo.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..ports import CpMode
from ..simulation import SimulatedStation

Wait = Callable[[float], Awaitable[None]]
TICK_S = 0.25  # EVerest's car simulator ticks every 250 ms
PWR_READY_TIMEOUT_S = 600.0
RCD_TRIP_MA = 6.0  # DC residual current that trips a type-B RCD module (IEC 62955)
DIODE_FAULT = "evse_board_support/DiodeFault"
RCD_DC = "ac_rcd/DC"


class ScenarioError(ValueError):
    """A script that cannot be parsed or a step that cannot complete."""


@dataclass(frozen=True)
class Step:
    """One command of a scenario with its numeric arguments."""

    command: str
    args: tuple[float, ...] = ()

    def __str__(self) -> str:
        return " ".join([self.command, ",".join(f"{a:g}" for a in self.args)]).strip()


# command -> (minimum args, maximum args)
ARITY: dict[str, tuple[int, int]] = {
    "sleep": (1, 1),
    "plugin": (0, 0),
    "unplug": (0, 0),
    "iec_wait_pwr_ready": (0, 0),
    "draw_power_regulated": (1, 2),
    "draw_power_fixed": (1, 2),
    "pause": (0, 0),
    "resume": (0, 0),
    "error_e": (0, 0),
    "diode_fail": (0, 0),
    "rcd_current": (1, 1),
    "clear_errors": (0, 0),
}


def parse(script: str) -> list[Step]:
    """The steps of ``script``; a ScenarioError names the offending command."""
    steps = []
    for number, text in enumerate(re.split(r"[;\n]", script), start=1):
        words = [w for w in re.split(r"[\s,]+", text.strip().lower()) if w]
        if not words:
            continue
        command, raw_args = words[0], words[1:]
        if command not in ARITY:
            raise ScenarioError(f"command {number} {text.strip()!r}: unknown command")
        low, high = ARITY[command]
        if not low <= len(raw_args) <= high:
            raise ScenarioError(
                f"command {number} {text.strip()!r}: expects {low}..{high} arguments"
            )
        try:
            args = tuple(float(a) for a in raw_args)
        except ValueError:
            message = f"command {number} {text.strip()!r}: arguments must be numbers"
            raise ScenarioError(message) from None
        steps.append(Step(command, args))
    return steps


def power_ready(station: SimulatedStation) -> bool:
    """IEC 61851 PWM between 7 and 97 %: the EVSE offers power."""
    out = station.output
    return out.cp is CpMode.PWM and out.enabled and 7.0 <= out.duty_cycle <= 97.0


class Scenario:
    """Plays steps against a station; ``run`` returns when the last step is done."""

    def __init__(self, steps: list[Step] | str, station: SimulatedStation) -> None:
        self.steps = parse(steps) if isinstance(steps, str) else list(steps)
        if not self.steps:
            raise ScenarioError("the scenario has no commands")
        self.station = station

    async def run(self, wait: Wait, on_step: Callable[[Step], None] | None = None) -> None:
        """Every step in order; ``wait(seconds)`` lets time pass."""
        for step in self.steps:
            if on_step is not None:
                on_step(step)
            await self._play(step, wait)

    async def _play(self, step: Step, wait: Wait) -> None:
        station, ev = self.station, self.station.ev
        match step.command:
            case "sleep":
                await wait(step.args[0])
            case "plugin":
                station.plug_in()
            case "unplug":
                station.unplug()
            case "iec_wait_pwr_ready":
                await self._wait_power_ready(wait)
            case "draw_power_regulated" | "resume":
                amps, phases = self._draw_args(step)
                ev.fixed_current_A = None
                station.draw_power(amps, phases)
                station.resume()
            case "draw_power_fixed":
                amps, phases = self._draw_args(step)
                station.draw_power(amps, phases)
                station.resume()
                ev.fixed_current_A = amps
            case "pause":
                station.pause()
            case "error_e":
                ev.cp_short = True
            case "diode_fail":
                station.inject_error(DIODE_FAULT)
            case "rcd_current":
                if step.args[0] >= RCD_TRIP_MA:
                    station.inject_error(RCD_DC)
            case "clear_errors":
                ev.cp_short = False
                station.clear_errors()

    def _draw_args(self, step: Step) -> tuple[float, int]:
        if not step.args:  # resume: as before the pause
            return self.station.ev.max_current_A, self.station.ev.phases
        phases = int(step.args[1]) if len(step.args) > 1 else 1
        if phases not in (1, 3):
            raise ScenarioError(f"{step}: phases must be 1 or 3")
        return step.args[0], phases

    async def _wait_power_ready(self, wait: Wait) -> None:
        waited = 0.0
        while not power_ready(self.station):
            if waited >= PWR_READY_TIMEOUT_S:
                raise ScenarioError(f"iec_wait_pwr_ready: no PWM after {waited:.0f} s")
            await wait(TICK_S)
            waited += TICK_S

"""Where the current writes of benchmarks/pv_surplus.py go: every write classified.

Runs ours and the evcc replica on one trace (default broken_clouds, 1 A chargers, the same
seeded days as pv_surplus.py) and classifies each write: start, stop, phase switch, or a
rise/fall by its size; for ours also the rule that wrote it (from the controller's state
and reason); how long the value was held; whether the next write reversed it within
30/60 s; whether it went back to the value before the previous write (A -> B -> A).
Prints mean counts per day.

    python benchmarks/pv_writes.py [--trace broken_clouds] [--step 1] [--seeds 40] [--battery]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pv_surplus as pv  # puts this checkout's controller on sys.path too

from controller.energy import SurplusController
from controller.energy.surplus import BIG_UP_A, Decision, SiteReading


@dataclass
class Write:
    t: float
    old: tuple[float, int]
    new: tuple[float, int]
    rule: str
    surplus_seen_A: float = 0.0  # what the reading allowed (per phase), if known


@dataclass
class Recorder:
    """Wraps a decide function; records every change of (applied setpoint, phases)."""

    decide: pv.Decide
    step_A: float
    rule_of: object = None  # () -> str, the rule behind the last decision
    writes: list[Write] = field(default_factory=list)
    last: tuple[float, int] = (0.0, 3)

    def __call__(self, t: float, m: pv.Meters) -> tuple[float, int]:
        wanted, phases = self.decide(t, m)
        applied = int(wanted / self.step_A + 1e-6) * self.step_A if wanted >= pv.MIN_A else 0.0
        new = (round(applied, 3), phases)
        if new != self.last:
            rule = self.rule_of() if callable(self.rule_of) else ""
            self.writes.append(Write(t, self.last, new, rule))
        self.last = new
        return wanted, phases


class Traced(SurplusController):
    """Our controller, remembering which rule its last step took."""

    rule = ""

    def step(self, now: float, reading: SiteReading) -> Decision:
        before = (self.current_A, self.phases, self._up_since, self._down_since)
        high_since = self._high_since
        d = super().step(now, reading)
        cur, ph, up_since, down_since = before
        r = d.reason
        if cur <= 0 < d.current_A:
            self.rule = "start"
        elif d.current_A <= 0 < cur:
            self.rule = "stop"
        elif d.phases != ph:
            self.rule = "phase switch"
        elif d.current_A > cur and self._high_since is not None:
            self.rule = "up back to the recent high"
        elif (
            d.current_A > cur
            and high_since is not None
            and now - high_since >= self.settings.new_high_confirm_s
        ):
            self.rule = "up new high confirmed"
        elif d.current_A > cur:
            delta = d.current_A - cur
            confirmed = up_since is not None and now - up_since >= self.settings.up_confirm_s
            self.rule = f"up {'confirmed' if confirmed and delta < BIG_UP_A else 'at once'}"
        elif d.current_A < cur:
            small = (
                cur - d.current_A
                <= max(self.settings.down_confirm_A, self.settings.current_step_A) + 1e-9
            )
            if "dip" in r or "1p timer" in r:
                self.rule = "down to min (dip)"
            elif down_since is not None and small:
                self.rule = f"down small after {now - down_since:.0f} s"
            else:
                self.rule = "down at once"
        else:
            self.rule = "hold"
        return d


def ours_traced(step_A: float, battery: bool) -> tuple[pv.Decide, Traced]:
    """pv_surplus's ``ours`` on the tracing controller."""
    decide = pv.ours(step_A, battery=battery, controller=Traced)
    return decide, decide.controller  # type: ignore[attr-defined]


def kind(w: Write) -> str:
    """start / stop / phase switch / up|down by size."""
    (a, pa), (b, pb) = w.old, w.new
    if a <= 0 < b:
        return "start"
    if b <= 0 < a:
        return "stop"
    if pa != pb:
        return "phase switch"
    d = b - a
    size = abs(d)
    bucket = "1" if size <= 1.05 else "2" if size <= 2.05 else "3+"
    if size < 0.95:
        bucket = "<1"
    return f"{'up' if d > 0 else 'down'} {bucket} A"


def _held_bucket(held: float) -> str:
    """The held time's bucket (s)."""
    for limit in (10, 30, 60, 180):
        if held <= limit:
            return f"<={limit}"
    return ">180"


def classify(writes: list[Write]) -> Counter[str]:
    """Counts of every category over one day's writes."""
    c: Counter[str] = Counter()
    for i, w in enumerate(writes):
        k = kind(w)
        c[f"kind: {k}"] += 1
        if w.rule:
            c[f"rule: {w.rule}"] += 1
            c[f"kind x rule: {k} / {w.rule}"] += 1
        nxt = writes[i + 1] if i + 1 < len(writes) else None
        held = (nxt.t - w.t) if nxt else 1e9
        c[f"held: {_held_bucket(held)} s"] += 1
        if nxt and w.new[1] == nxt.new[1] and w.old[0] > 0 and nxt.new[0] > 0:
            up = w.new[0] > w.old[0]
            back = nxt.new[0] < w.new[0] if up else nxt.new[0] > w.new[0]
            if back and held <= 30:
                c["reversed within 30 s"] += 1
                c[f"reversed within 30 s: {k}"] += 1
            if back and held <= 60:
                c["reversed within 60 s"] += 1
                c[f"reversed within 60 s: {k}"] += 1
        if nxt and held <= 20 and w.new[1] == nxt.new[1] and w.old[0] > 0 and nxt.new[0] > 0:
            same = (nxt.new[0] > w.new[0]) == (w.new[0] > w.old[0])
            c[f"next within 20 s {'continues' if same else 'reverses'}: {k} / {w.rule}"] += 1
        if i > 0 and w.new == writes[i - 1].old and w.new[0] > 0:
            c["back to the value before the previous write"] += 1
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--trace", default="broken_clouds")
    parser.add_argument("--step", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--battery", action="store_true")
    args = parser.parse_args()
    doy, hours = pv.load_traces()[args.trace]
    totals: dict[str, Counter[str]] = {"ours": Counter(), "evcc": Counter()}
    per_day: dict[str, list[int]] = {"ours": [], "evcc": []}
    for i in range(args.seeds):
        rng = np.random.default_rng([args.seed + i, sum(map(ord, args.trace))])
        surplus = pv.pv_power(doy, hours, rng) - pv.house_load(rng)
        soc = float(rng.uniform(*pv.SOC_AT_PLUG_IN))
        car = pv.CARS[i % len(pv.CARS)]
        home = (pv.HOME_BATTERY, soc) if args.battery else None
        decide, ctrl = ours_traced(args.step, args.battery)
        rec_o = Recorder(decide, args.step, rule_of=lambda c=ctrl: c.rule)
        pv.simulate(rec_o, pv.OURS_INTERVAL_S, args.step, surplus, car, home=home)
        socs = {}
        if args.battery:
            socs = {
                "priority_soc": pv.PRIORITY_SOC,
                "buffer_soc": pv.BUFFER_SOC,
                "buffer_start_soc": pv.BUFFER_START_SOC,
            }
        rec_e = Recorder(pv.EvccPv(fine=args.step < 1, **socs), args.step)
        pv.simulate(rec_e, pv.EVCC_INTERVAL_S, args.step, surplus, car, home=home)
        for name, rec in (("ours", rec_o), ("evcc", rec_e)):
            totals[name] += classify(rec.writes)
            per_day[name].append(len(rec.writes))
        print(f"\r{i + 1}/{args.seeds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    n = args.seeds
    for name in ("ours", "evcc"):
        print(
            f"{name}: median writes {np.median(per_day[name]):g}, mean {np.mean(per_day[name]):.1f}"
        )
    keys = sorted(set(totals["ours"]) | set(totals["evcc"]))
    print(f"{'category (mean per day)':60} {'ours':>7} {'evcc':>7}")
    for k in keys:
        print(f"{k:60} {totals['ours'][k] / n:7.1f} {totals['evcc'][k] / n:7.1f}")


if __name__ == "__main__":
    main()

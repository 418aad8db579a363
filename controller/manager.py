"""EvseManager: runs one ChargingKernel against its ports in one asyncio task.

The task owns the kernel. Polls, timers and commands are all queued into it, so the pure
state machine never sees concurrency. After every input the task executes the kernel's
effects in order (meter transaction, persist, publish) and then applies the charger output.
Adapters (Home Assistant, MQTT, HTTP) subscribe to one stream of ``Update``s and call the
typed command methods below (or ``controller.commands.execute`` for JSON arguments).

Start-up emits events too (``SessionResumed``, a power-loss ``TransactionFinished``...), and
the adapters can only attach once the connector runs (they need its identity and
variables). So ``start()`` holds every update back until the owner, with all its adapters
subscribed, calls ``release_updates()``: no update can reach only some of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .clock import Clock, SystemClock, rfc3339
from .errors import DeviceError, MeterCounterError
from .everest import (
    EnableDisableSource,
    EnergyTransferMode,
    EnforcedLimits,
    Evse,
    ExternalLimits,
    PlugAndChargeConfiguration,
    Powermeter,
    ProvidedIdToken,
    StopTransactionRequest,
    UpdateAllowedEnergyTransferModesResult,
    ValidationResult,
)
from .everest.model import dump
from .kernel.effects import (
    CloseTransaction,
    Effect,
    EndSession,
    PersistTransaction,
    Publish,
    StartMeterTransaction,
    StopMeterTransaction,
)
from .kernel.machine import ChargingKernel, KernelConfig
from .kernel.session import SessionRecord
from .kernel.states import State
from .ports import (
    ChargeControllerPort,
    ChargerInfo,
    ChargerOutput,
    ChargerStatus,
    PowerMeterPort,
)
from .store import SessionStore

if TYPE_CHECKING:
    from .auth import RemoteValidator, TokenValidator

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
MAX_SETTLE_POLLS = 3
MAX_HELD_EVENTS = 1000  # session events held for adapters that are never released
SESSION_EVENT = "session_event"
MAX_CURRENT_VAR = "max_current"  # the user's ceiling (extension variable)
# External limits (set_external_limits: a CSMS's charging profiles), as the kernel publishes them.
EXTERNAL_LIMITS_VAR = "external_limits"
MAX_CURRENT_SETTING = "max_current_A"  # ... and its row in the store's settings
_UNSET = object()


@dataclass(frozen=True)
class Update:
    """One published variable (``session_event`` included) of one connector."""

    connector: str
    var: str
    value: Any

    def to_json(self) -> Any:
        """The value in EVerest's JSON form."""
        return dump(self.value)


Listener = Callable[[Update], None]


class EnergyControl(Protocol):
    """The energy manager's handle on one connector (mode and tuning), reachable through
    the command API so Home Assistant, MQTT and HTTP change it the same way."""

    def set_mode(self, mode: str) -> None:
        """Switch the charge mode (off, fast, pv, minpv)."""
        ...

    def update_settings(self, changes: Mapping[str, Any]) -> None:
        """Change thresholds, delays or currents; raises ValueError for a bad combination."""
        ...


class EvseManager:
    """One connector: kernel + charger + meter + store, driven by one task."""

    def __init__(
        self,
        charger: ChargeControllerPort,
        meter: PowerMeterPort,
        store: SessionStore,
        config: KernelConfig | None = None,
        *,
        name: str = "evse1",
        clock: Clock | None = None,
        poll_interval: float = 1.0,
        label: str | None = None,
        poll_offset: float = 0.0,
    ) -> None:
        self.name = name  # the connector's key in updates and in the store
        self.label = label or name  # how the log names it (an adapter may name it better)
        self.config = config or KernelConfig()
        self.poll_interval = poll_interval
        # Where in each period this connector polls (seconds on the loop clock's grid of
        # poll_interval): an owner of many connectors spreads them, so their requests do
        # not all come at once, whenever each started.
        self.poll_offset = poll_offset
        self._charger = charger
        self._meter = meter
        self._store = store
        self._clock = clock or SystemClock()
        self._kernel: ChargingKernel | None = None
        self._listeners: list[Listener] = []
        self._queue: asyncio.Queue[_Job[Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._applied: ChargerOutput | None = None
        self._available = False
        self._lost: dict[str, DeviceError] = {}  # devices not answering, and why
        self._info: ChargerInfo | None = None
        self._extra: dict[str, Any] = {}
        self.energy: EnergyControl | None = None  # set by an EnergyManager that drives us
        # Who decides a token presented here (``controller.auth.present_token``): the
        # connector's card list, and a CSMS this connector reports to (set by its client).
        self.token_validator: TokenValidator | None = None
        self.csms_validator: RemoteValidator | None = None
        # The token a reservation (by id) is for, where the party that reserved named one
        # (a CSMS's ReserveNow; EVerest keeps it in its Auth module): set by the CSMS client.
        self.reservation_token: Callable[[int], str | None] | None = None
        self._stopping = False
        self._held: list[Update] | None = None  # updates since start(), until released
        self._polls = 0  # polls done (a command's own poll stands in for a due one)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect the devices, restore any open transaction and start the task.

        Updates are held from here until ``release_updates()``. Raises ``DeviceError``
        when a device cannot be reached (nothing is left running).
        """
        self._held = []
        info = await self._charger.connect()
        self._info = info
        await self._meter.connect()
        status = await self._charger.read_status()
        sample = await self._meter.read()
        kernel = ChargingKernel(self.config, self._clock, info, self._stamp(sample))
        self._kernel = kernel
        self._available = True
        last = self._store.history(self.name, 1)
        kernel.start(
            status,
            restored=self._store.load_open(self.name),
            last_session=last[0] if last else None,
            stopped=self._store.load_stopped(self.name),
        )
        self._restore_max_current(kernel)
        await self._flush()
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"evse_manager {self.name}")

    def release_updates(self) -> None:
        """Every adapter is subscribed: deliver the updates held since ``start()`` (in
        order; variables only at their latest value) and every later one at once."""
        held, self._held = self._held, None
        for update in held or ():
            self._deliver(update)

    def _restore_max_current(self, kernel: ChargingKernel) -> None:
        """The user's maximum current as it was set before a restart (else the
        installation's), applied before anything is written to the charger."""
        saved = self.load_setting(MAX_CURRENT_SETTING)
        ceiling = float(saved) if isinstance(saved, int | float) else math.inf
        self.publish(MAX_CURRENT_VAR, kernel.set_max_current(ceiling))

    async def stop(self) -> None:
        """Stop the task and leave the charger in its safe state (no charging)."""
        if self._task is not None:
            # Asked, not cancelled: the task finishes its current step (Modbus requests
            # are bounded by their timeouts), so no request is cut off mid-answer and no
            # cancellation can be lost in a timeout race (Python 3.11).
            self._stopping = True
            wake = _Job(_nothing, asyncio.get_running_loop().create_future(), poll=False)
            self._queue.put_nowait(wake)
            await self._task
            self._task = None
        if self._kernel is not None:
            with contextlib.suppress(DeviceError):
                await self._charger.apply(ChargerOutput.safe(self._kernel.output().phases))
        await self._charger.close()
        await self._meter.close()
        while not self._queue.empty():
            self._queue.get_nowait().future.cancel()

    async def __aenter__(self) -> EvseManager:
        """Started, with updates released to the listeners subscribed so far."""
        await self.start()
        self.release_updates()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ observation

    @property
    def kernel(self) -> ChargingKernel:
        """The kernel (read-only use: state, vars)."""
        if self._kernel is None:
            raise RuntimeError("EvseManager not started")
        return self._kernel

    @property
    def state(self) -> State:
        """Current charger state."""
        return self.kernel.state

    @property
    def running(self) -> bool:
        """True between a successful ``start()`` and ``stop()``: commands are served."""
        return self._task is not None and not self._task.done()

    @property
    def available(self) -> bool:
        """False while a device is unreachable."""
        return self._available

    @property
    def faults(self) -> Mapping[str, DeviceError]:
        """The devices ("charger", "meter") that fail now, each with its latest error."""
        return dict(self._lost)

    @property
    def charger_info(self) -> ChargerInfo | None:
        """Identity of the charge controller (vendor, model, serial, firmware) once started."""
        return self._info

    def vars(self) -> dict[str, Any]:
        """Snapshot of every published variable (kernel and extension variables)."""
        return {**self.kernel.vars(), **self._extra}

    def publish(self, var: str, value: Any) -> None:
        """Publish an extension variable owned by a layer above the kernel (such as the
        energy manager's explanation) through the same update stream; only on change."""
        if self._extra.get(var, _UNSET) == value:
            return
        self._extra[var] = value
        self._notify(Update(self.name, var, value))

    def save_setting(self, name: str, value: Any) -> None:
        """Persist a user choice for this connector (layers above the kernel use it)."""
        self._store.save_setting(self.name, name, value)

    def load_setting(self, name: str) -> Any:
        """A persisted user choice, or None."""
        return self._store.load_setting(self.name, name)

    def history(self, limit: int = 50) -> list[SessionRecord]:
        """Finished sessions, newest first."""
        return self._store.history(self.name, limit)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` for every update; returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def updates(self) -> AsyncIterator[Update]:
        """Every update from now on, as an async iterator."""
        queue: asyncio.Queue[Update] = asyncio.Queue()
        unsubscribe = self.subscribe(queue.put_nowait)
        try:
            while True:
                yield await queue.get()
        finally:
            unsubscribe()

    # ------------------------------------------------------------------ commands

    async def get_evse(self) -> Evse:
        """get_evse."""
        return await self._submit(lambda k: k.get_evse())

    async def enable_disable(self, connector_id: int, source: EnableDisableSource) -> bool:
        """enable_disable."""
        return await self._submit(lambda k: k.enable_disable(connector_id, source))

    async def authorize_response(self, token: ProvidedIdToken, result: ValidationResult) -> None:
        """authorize_response."""
        await self._submit(lambda k: k.authorize_response(token, result))

    async def withdraw_authorization(self) -> None:
        """withdraw_authorization."""
        await self._submit(lambda k: k.withdraw_authorization())

    async def reserve(self, reservation_id: int) -> bool:
        """reserve."""
        return await self._submit(lambda k: k.reserve(reservation_id))

    async def cancel_reservation(self) -> None:
        """cancel_reservation."""
        await self._submit(lambda k: k.cancel_reservation())

    async def pause_charging(self) -> bool:
        """pause_charging."""
        return await self._submit(lambda k: k.pause_charging())

    async def resume_charging(self) -> bool:
        """resume_charging."""
        return await self._submit(lambda k: k.resume_charging())

    async def stop_transaction(self, request: StopTransactionRequest) -> bool:
        """stop_transaction."""
        return await self._submit(lambda k: k.stop_transaction(request))

    async def force_unlock(self, connector_id: int) -> bool:
        """force_unlock."""
        return await self._submit(lambda k: k.force_unlock(connector_id))

    async def external_ready_to_start_charging(self) -> bool:
        """external_ready_to_start_charging."""
        return await self._submit(lambda k: k.external_ready_to_start_charging())

    async def set_plug_and_charge_configuration(self, config: PlugAndChargeConfiguration) -> None:
        """set_plug_and_charge_configuration."""
        await self._submit(lambda k: k.set_plug_and_charge_configuration(config))

    async def update_allowed_energy_transfer_modes(
        self, modes: list[EnergyTransferMode]
    ) -> UpdateAllowedEnergyTransferModesResult:
        """update_allowed_energy_transfer_modes."""
        return await self._submit(lambda k: k.update_allowed_energy_transfer_modes(modes))

    async def set_enforced_limits(self, limits: EnforcedLimits) -> None:
        """The energy-manager input (enforce_limits)."""
        await self._submit(lambda k: k.set_enforced_limits(limits))

    async def set_external_limits(self, limits: ExternalLimits) -> None:
        """External limits beside the energy manager's (set_external_limits)."""
        await self._submit(lambda k: k.set_external_limits(limits))

    async def set_max_current(self, amps: float) -> float:
        """The user's maximum current: a ceiling for every limit (an energy manager's
        too), kept across restarts and published as ``max_current``; returns the value
        kept (at most the installation's maximum)."""
        kept = await self._submit(lambda k: k.set_max_current(amps))
        self.save_setting(MAX_CURRENT_SETTING, kept)
        self.publish(MAX_CURRENT_VAR, kept)
        return kept

    async def poll_now(self) -> None:
        """Poll the devices and run the timers now; returns when all effects are done."""
        await self._submit(lambda k: None, poll=True)

    # ------------------------------------------------------------------ the task

    async def _submit(self, fn: Callable[[ChargingKernel], T], poll: bool = False) -> T:
        if self._task is None or self._task.done():
            raise RuntimeError(f"EvseManager {self.name} is not running")
        job: _Job[T] = _Job(fn, asyncio.get_running_loop().create_future(), poll)
        self._queue.put_nowait(job)
        return await job.future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()  # the first poll at the offset on the loop clock's grid
        next_poll = now + (self.poll_offset - now) % self.poll_interval
        while True:
            timeout = max(0.0, min(next_poll, self._deadline_in_loop_time()) - loop.time())
            job: _Job[Any] | None = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    job = await self._queue.get()
            if self._stopping:
                if job is not None:
                    job.future.cancel()
                return
            failure: Exception | None = None
            try:
                due = job is None or job.poll or loop.time() >= next_poll
                await self._serve(job, due)
                if due:
                    next_poll = _next_poll(next_poll, loop.time(), self.poll_interval)
            except Exception as err:  # the loop must survive anything a device does
                _LOGGER.exception("%s: unexpected error in the kernel task", self.label)
                failure = err
            if job is not None:
                job.settle(failure)

    async def _serve(self, job: _Job[Any] | None, due: bool) -> None:
        """One turn of the task: a poll (scheduled, a timer's, or asked for) and its job, or
        a command. A command with a poll due runs first, so its write does not wait for the
        poll's reads; the poll follows, unless applying the command polled already (a
        changed output is followed by a poll)."""
        command = job is not None and not job.poll
        if not command:
            await self._poll()
        polls = self._polls
        if job is not None:
            job.run(self.kernel)
        self.kernel.tick()
        await self._flush()
        if command and due and self._polls == polls:
            await self._poll()
            self.kernel.tick()
            await self._flush()

    def _deadline_in_loop_time(self) -> float:
        loop = asyncio.get_running_loop()
        deadline = self.kernel.next_deadline()
        if deadline is None:
            return loop.time() + 3600.0
        return loop.time() + max(0.0, deadline - self._clock.monotonic())

    async def _poll(self) -> None:
        """Read the charger, then the meter, and hand the kernel the meter first: whatever
        the charger's status makes the kernel do (finish a transaction when the relays
        are seen open) is recorded with a meter reading taken after that status."""
        self._polls += 1
        status: ChargerStatus | DeviceError
        try:
            status = await self._charger.read_status()
        except DeviceError as err:
            status = err
        sample = await self._read_sample()
        if sample is not None and (isinstance(status, DeviceError) or "charger" in self._lost):
            self.kernel.on_meter(sample)  # before the charger's link changes, as ever
            sample = None
        if isinstance(status, DeviceError):
            self._link_lost("charger", status)
        elif sample is not None:
            self.kernel.on_poll(sample, status)  # the meter first, in one step mostly
        else:
            self._link_restored("charger")
            self.kernel.on_charger_status(status)

    async def _read_meter(self) -> None:
        """One meter reading into the kernel."""
        sample = await self._read_sample()
        if sample is not None:
            self.kernel.on_meter(sample)

    async def _read_sample(self) -> Powermeter | None:
        """One meter reading, stamped (None if the meter failed); a counter reset is said
        once, here."""
        try:
            sample = await self._meter.read()
        except DeviceError as err:
            self._link_lost("meter", err)
            return None
        self._link_restored("meter")
        before = self.kernel.meter.energy_Wh_import.total
        after = sample.energy_Wh_import.total
        if after < before:
            _LOGGER.warning(
                "%s: meter counter reset from %s Wh to %s Wh (meter replaced or restarted); "
                "counting on from the new reading, session energy kept",
                self.label,
                before,
                after,
            )
        return self._stamp(sample)

    def _link_lost(self, device: str, err: DeviceError) -> None:
        answering = isinstance(err, MeterCounterError)
        if device not in self._lost:
            what = "unusable" if answering else "unreachable"
            _LOGGER.warning("%s: %s %s: %s", self.label, device, what, err)
        self._lost[device] = err
        self._update_available()
        self._applied = None  # rewrite the whole output once the link is back
        self.kernel.on_link_lost(device, str(err), answering=answering)

    def _link_restored(self, device: str) -> None:
        """A device answered; the kernel hears of it only if it had been lost (every
        successful read used to cost it a step that changed nothing)."""
        if device not in self._lost:
            return
        _LOGGER.info("%s: %s reachable again", self.label, device)
        del self._lost[device]
        self._update_available()
        self.kernel.on_link_restored(device)

    def _update_available(self) -> None:
        """Available while every device answers (a meter that answers with an implausible
        counter does: its values are shown, charging is inhibited by the fault)."""
        self._available = all(isinstance(e, MeterCounterError) for e in self._lost.values())

    def _stamp(self, sample: Powermeter) -> Powermeter:
        """Meter samples carry the controller's clock, like every event (a port that
        stamps with that clock already, as the Modbus meter does, is taken as it is)."""
        if getattr(self._meter, "clock", None) is self._clock:
            return sample
        return replace(sample, timestamp=rfc3339(self._clock.now()))

    async def _flush(self) -> None:
        """Execute effects in order, apply the output, re-poll until relays settle."""
        for _ in range(MAX_SETTLE_POLLS):
            await self._execute(self.kernel.take_effects())
            output = self.kernel.output()
            if output == self._applied:
                return
            try:
                await self._charger.apply(output)
            except DeviceError as err:
                self._link_lost("charger", err)
                await self._execute(self.kernel.take_effects())
                return
            self._applied = output
            await self._poll()

    async def _execute(self, effects: list[Effect]) -> None:
        pending = list(effects)
        while pending:
            effect = pending.pop(0)
            await self._execute_one(effect)
            pending.extend(self.kernel.take_effects())

    async def _execute_one(self, effect: Effect) -> None:
        match effect:
            case Publish(var, value):
                self._notify(Update(self.name, var, value))
            case PersistTransaction(record):
                self._store.save_open(self.name, record)
            case CloseTransaction(record, stopped):
                self._store.close_transaction(self.name, record, stopped)
            case EndSession():
                self._store.end_session(self.name)
            case StartMeterTransaction(transaction_id):
                await self._start_meter_transaction(transaction_id)
            case StopMeterTransaction(transaction_id):
                with contextlib.suppress(DeviceError):
                    await self._meter.stop_transaction(transaction_id)

    async def _start_meter_transaction(self, transaction_id: str) -> None:
        try:
            response = await self._meter.start_transaction(transaction_id)
        except DeviceError as err:
            self.kernel.on_meter_transaction_started(False, str(err))
            return
        ok = response.status.value == "OK"
        if ok:
            await self._read_meter()  # the start value is a reading taken at the start
        self.kernel.on_meter_transaction_started(ok, response.error or "")

    def _notify(self, update: Update) -> None:
        if self._held is None:
            self._deliver(update)
        else:
            self._hold(self._held, update)

    def _hold(self, held: list[Update], update: Update) -> None:
        """Keep every session event, and each variable's latest value only."""
        if update.var == SESSION_EVENT:
            if sum(u.var == SESSION_EVENT for u in held) >= MAX_HELD_EVENTS:
                held.remove(next(u for u in held if u.var == SESSION_EVENT))
        else:
            held[:] = [u for u in held if u.var != update.var]
        held.append(update)

    def _deliver(self, update: Update) -> None:
        for listener in list(self._listeners):
            try:
                listener(update)
            except Exception:  # a broken adapter must not stop the kernel
                _LOGGER.exception("%s: listener failed on %s", self.label, update.var)


def _next_poll(scheduled: float, now: float, interval: float) -> float:
    """The next poll at a fixed rate: one interval after the one scheduled, not after the
    poll ended (no drift); polls missed while busy are skipped, the grid is kept."""
    if scheduled > now:  # an early poll (asked for): the scheduled one still comes
        return scheduled
    following = scheduled + interval
    if following > now:
        return following
    return following + (math.floor((now - following) / interval) + 1) * interval


def _nothing(kernel: ChargingKernel) -> None:
    """The job that only wakes the task (to stop it)."""


class _Job(Generic[T]):
    """A function to run on the kernel inside the task, and where its result goes."""

    def __init__(
        self, fn: Callable[[ChargingKernel], T], future: asyncio.Future[T], poll: bool
    ) -> None:
        self.fn = fn
        self.future = future
        self.poll = poll
        self._result: T | None = None
        self._error: Exception | None = None

    def run(self, kernel: ChargingKernel) -> None:
        """Call the kernel; a CommandError is the caller's, not the task's.

        A caller that gave up waiting (its timeout cancelled the future) gets nothing run.
        """
        if self.future.cancelled():
            return
        try:
            self._result = self.fn(kernel)
        except Exception as err:  # handed to the caller, never escapes the task
            self._error = err

    def settle(self, failure: Exception | None) -> None:
        """Resolve the caller's future after every effect of the job is done."""
        if self.future.done():
            return
        error = failure or self._error
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(self._result)  # type: ignore[arg-type]

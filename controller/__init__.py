"""EV charging controller implementing EVerest's evse_manager interface.

The public API: ``EvseManager`` runs one connector (kernel + charger + meter + store) and
publishes ``Update``s; ``commands.execute`` is the JSON command API every adapter uses;
``catalog.ENTITIES`` describes what adapters show; ``everest`` holds the typed EVerest types.
"""

from .catalog import ENTITIES, EntitySpec
from .clock import Clock, ManualClock, SystemClock
from .commands import COMMANDS, INTERFACE_COMMANDS, CommandResult, execute
from .errors import CommandError, ConfigError, ConnectError, DeviceError, EvseError, MapError
from .kernel.machine import KernelConfig
from .kernel.session import SessionInfo, SessionRecord, TransactionRecord
from .kernel.states import State
from .manager import EvseManager, Update
from .ports import ChargeControllerPort, ChargerInfo, ChargerOutput, ChargerStatus, PowerMeterPort
from .store import SessionStore
from .variables import EVENT_VARS, EXTENSION_VARS, INTERFACE_VARS

__all__ = [
    "COMMANDS",
    "ENTITIES",
    "EVENT_VARS",
    "EXTENSION_VARS",
    "INTERFACE_COMMANDS",
    "INTERFACE_VARS",
    "ChargeControllerPort",
    "ChargerInfo",
    "ChargerOutput",
    "ChargerStatus",
    "Clock",
    "CommandError",
    "CommandResult",
    "ConfigError",
    "ConnectError",
    "DeviceError",
    "EntitySpec",
    "EvseError",
    "EvseManager",
    "KernelConfig",
    "ManualClock",
    "MapError",
    "PowerMeterPort",
    "SessionInfo",
    "SessionRecord",
    "SessionStore",
    "State",
    "SystemClock",
    "TransactionRecord",
    "Update",
    "execute",
]

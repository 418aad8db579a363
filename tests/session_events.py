"""The EVerest session events of one plain session, in EVerest's order (plug in, authorize,
charge, stop, unplug): one list for the Modbus, OCPP and demo tests that check it."""

SESSION_START = [
    "Enabled",
    "SessionStarted",
    "AuthRequired",
    "Authorized",
    "TransactionStarted",
    "PrepareCharging",
    "ChargingStarted",
]
FULL_SESSION = [
    *SESSION_START,
    "StoppingCharging",
    "ChargingFinished",
    "TransactionFinished",
    "SessionFinished",
]

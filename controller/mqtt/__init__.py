"""MQTT bridge: every connector's EVerest variables and commands on an MQTT broker.

Topics (``<base>`` is ``base_topic``, default ``evse_manager``):

* ``<base>/status`` -- ``online`` / ``offline``, retained; ``offline`` is the last will,
  so subscribers learn when the controller dies.
* ``<base>/connectors`` -- the connectors served, retained; at start, connectors the
  previous run served but this one does not are retired (discovery and topics cleared).
* ``<base>/<connector>/<var>`` -- every published variable as EVerest JSON, retained, when
  it changed; the full snapshot is re-published on every (re)connect. Measurements
  (``powermeter``, ``telemetry``, ``session_info``) go out past a deadband or after
  ``telemetry.max_interval_s`` (``telemetry``), never for a new timestamp alone.
* ``<base>/<connector>/session_event`` -- QoS 1. Events produced while the broker is away
  are queued (``queue_size`` per connector, oldest dropped with a warning) and delivered
  in order.
* ``<base>/<connector>/state/<entity>`` -- each catalog entity's state as a plain value
  (``ON``/``OFF`` for binary sensors and switches, ``None`` when unknown), retained;
  ``state/session_event`` carries ``{"event_type": ..., ...}`` for HA's event entity.
* ``<base>/<connector>/availability`` -- ``online`` / ``offline`` (devices reachable).
* ``<base>/<connector>/cmd/<command>`` (in) -- ``{"id": any, "args": {...}}``, a bare
  arguments object or nothing; the answer ``{"id": ..., "ok": ..., "result"/"error": ...}``
  goes to ``<base>/<connector>/result/<command>`` (QoS 1, not retained).
* ``<base>/<connector>/set/<entity>`` (in) -- HA controls: ``ON``/``OFF`` (switch), a
  number, ``PRESS`` (button); the outcome goes to ``<base>/<connector>/set_result/<entity>``.
* ``<prefix>/device/<base>_<connector>/config`` -- Home Assistant device discovery
  (retained), re-sent when HA announces ``online`` on ``<prefix>/status``.
* input topics (in) -- any other topics the bridge is given (``inputs``: topic ->
  callback), subscribed on every (re)connect; e.g. ``energy.grid_topic`` (the house
  connection's power: a number in W, + import / - export, or ``{"power_W": ...,
  "currents_A": [l1, l2, l3]}``) and ``energy.battery_topic`` (home battery W, + charging),
  parsed by ``grid.GridFeed``. Malformed payloads are logged and ignored.
"""

from .bridge import MqttBridge
from .settings import MQTT_SCHEMA, MqttSettings
from .topics import Topics

__all__ = ["MQTT_SCHEMA", "MqttBridge", "MqttSettings", "Topics"]

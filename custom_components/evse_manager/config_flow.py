"""Config, reconfigure and options flows.

A user picks a charger map and its connection and a meter (the charger's own counter, or
a meter map and its connection) — or the simulator, to try everything without hardware.
Nothing is saved before the devices have answered. An OCPP charger connects to us, so
its entry is checked for consistency only (same password and port per charge point);
the OCPP simulator is a simulated wallbox connecting on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util import slugify
from voluptuous.humanize import humanize_error

from .connector import build_config, simulator_maps
from .const import (
    BUILTIN_METER,
    CONF_AUTH,
    CONF_BATTERY_ENTITY,
    CONF_BATTERY_SOC_ENTITY,
    CONF_BAUDRATE,
    CONF_CHARGE_POINT_ID,
    CONF_CHARGER,
    CONF_CONNECTION,
    CONF_CONNECTOR_ID,
    CONF_CSMS_CHARGE_POINT_ID,
    CONF_CSMS_PASSWORD,
    CONF_CSMS_URL,
    CONF_CSMS_VERSION,
    CONF_FREE_CHARGING,
    CONF_GRID_ENTITY,
    CONF_GRID_INVERTED,
    CONF_ID_TAGS,
    CONF_KIND,
    CONF_MAP,
    CONF_MAX_CURRENT,
    CONF_METER,
    CONF_METER_MAP,
    CONF_MIN_CURRENT,
    CONF_MODE,
    CONF_MQTT_BASE_TOPIC,
    CONF_MQTT_DISCOVERY,
    CONF_MQTT_HOST,
    CONF_MQTT_PASSWORD,
    CONF_MQTT_PORT,
    CONF_MQTT_USERNAME,
    CONF_OCPP_CERTFILE,
    CONF_OCPP_KEYFILE,
    CONF_OCPP_PASSWORD,
    CONF_OCPP_PORT,
    CONF_OCPP_VERSION,
    CONF_PHASES,
    CONF_POLL_INTERVAL,
    CONF_RESERVATION_EXPIRY,
    CONF_SERIAL_PORT,
    CONF_TRANSACTION_AT_RESTART,
    CONF_UNIT,
    DEFAULT_OCPP_PORT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RESERVATION_EXPIRY_S,
    DOMAIN,
    MODE_MODBUS,
    MODE_OCPP,
    MODE_OCPP_SIMULATOR,
    MODE_SIMULATOR,
    RESTART_RESUME,
    SECTION_CSMS,
    SECTION_MQTT,
    SECTION_SOLAR,
)
from .controller.auth import AUTH_SCHEMA
from .controller.config import probe_connector
from .controller.errors import ConfigError, DeviceError, MapError
from .controller.modbus.maps import available_maps, load_map
from .controller.ocpp.settings import ssl_context
from .csms import entry_csms_settings
from .mqtt import default_base_topic

if TYPE_CHECKING:
    from . import EvseConfigEntry

CONF_METER_HOST = "meter_host"
CONF_METER_PORT = "meter_port"
CONF_METER_UNIT = "meter_unit"
KINDS = ["tcp", "rtu_over_tcp", "rtu"]
PHASES_AUTO = "auto"
OCPP_VERSIONS = ["1.6", "2.0.1"]
POWER_SENSOR = EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power"))
SOC_SENSOR = EntitySelector(EntitySelectorConfig(domain="sensor", device_class="battery"))


def _maps(kind: str) -> list[SelectOptionDict]:
    """The bundled maps of ``kind`` as "Manufacturer Model" choices (value: the map id),
    sorted by what the user reads."""
    ids = [m for m, k in available_maps().items() if k == kind]
    choices = [SelectOptionDict(value=m, label=_device_name(m)) for m in ids]
    return sorted(choices, key=lambda c: c["label"].casefold())


def _device_name(map_id: str) -> str:
    device = load_map(map_id)
    return f"{device.manufacturer} {device.model}"


def _builtin_meter() -> SelectOptionDict:
    """The charger's own counter (translated by the meter_map selector's key)."""
    return SelectOptionDict(value=BUILTIN_METER, label="The charger's own meter")


def _ids(choices: list[SelectOptionDict]) -> list[str]:
    return [c["value"] for c in choices]


def _select(options: list[str] | list[SelectOptionDict], key: str | None = None) -> SelectSelector:
    config = SelectSelectorConfig(options=options, mode=SelectSelectorMode.DROPDOWN)
    if key is not None:
        config["translation_key"] = key
    return SelectSelector(config)


def _int(low: int, high: int) -> NumberSelector:
    return NumberSelector(NumberSelectorConfig(min=low, max=high, mode=NumberSelectorMode.BOX))


def modbus_schema(
    chargers: list[SelectOptionDict], meters: list[SelectOptionDict], d: Mapping[str, Any]
) -> vol.Schema:
    """The connection form, prefilled from ``d`` (a previous attempt or the entry)."""

    def opt(key: str) -> vol.Optional:
        return vol.Optional(key, description={"suggested_value": d.get(key)})

    return vol.Schema(
        {
            vol.Required(CONF_NAME, default=d.get(CONF_NAME, "Wallbox")): TextSelector(),
            vol.Required(CONF_MAP, default=d.get(CONF_MAP, _ids(chargers)[0])): _select(chargers),
            vol.Required(CONF_KIND, default=d.get(CONF_KIND, "tcp")): _select(KINDS, "kind"),
            opt(CONF_HOST): TextSelector(),
            vol.Optional(CONF_PORT, default=d.get(CONF_PORT, 502)): _int(1, 65535),
            opt(CONF_UNIT): _int(0, 247),
            opt(CONF_SERIAL_PORT): TextSelector(),
            opt(CONF_BAUDRATE): _int(1200, 115200),
            vol.Required(CONF_METER_MAP, default=d.get(CONF_METER_MAP, BUILTIN_METER)): _select(
                [_builtin_meter(), *meters], "meter_map"
            ),
            opt(CONF_METER_HOST): TextSelector(),
            opt(CONF_METER_PORT): _int(1, 65535),
            opt(CONF_METER_UNIT): _int(0, 247),
        }
    )


def entry_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's data (controller connector format) from the connection form."""
    connection: dict[str, Any] = {CONF_KIND: form[CONF_KIND]}
    # Empty fields are left out, so the controller names what is missing.
    if form[CONF_KIND] == "rtu":
        if form.get(CONF_SERIAL_PORT):
            connection[CONF_SERIAL_PORT] = form[CONF_SERIAL_PORT]
        if form.get(CONF_BAUDRATE):
            connection[CONF_BAUDRATE] = int(form[CONF_BAUDRATE])
    else:
        if form.get(CONF_HOST):
            connection[CONF_HOST] = form[CONF_HOST]
        connection[CONF_PORT] = int(form.get(CONF_PORT, 502))
    if form.get(CONF_UNIT) is not None:
        connection[CONF_UNIT] = int(form[CONF_UNIT])
    meter: Any = BUILTIN_METER
    if form[CONF_METER_MAP] != BUILTIN_METER:
        meter_connection = {k: v for k, v in connection.items() if k != CONF_UNIT}
        if form.get(CONF_METER_HOST):
            meter_connection = {
                CONF_KIND: "tcp",
                CONF_HOST: form[CONF_METER_HOST],
                CONF_PORT: int(form.get(CONF_METER_PORT) or 502),
            }
        if form.get(CONF_METER_UNIT) is not None:
            meter_connection[CONF_UNIT] = int(form[CONF_METER_UNIT])
        meter = {CONF_MAP: form[CONF_METER_MAP], CONF_CONNECTION: meter_connection}
    return {
        CONF_MODE: MODE_MODBUS,
        CONF_CHARGER: {CONF_MAP: form[CONF_MAP], CONF_CONNECTION: connection},
        CONF_METER: meter,
    }


def form_values(title: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The connection form's values for an existing entry (reconfigure)."""
    connection = data[CONF_CHARGER][CONF_CONNECTION]
    meter = data.get(CONF_METER, BUILTIN_METER)
    values = {CONF_NAME: title, CONF_MAP: data[CONF_CHARGER][CONF_MAP], **connection}
    values[CONF_METER_MAP] = BUILTIN_METER
    if meter != BUILTIN_METER:
        values[CONF_METER_MAP] = meter[CONF_MAP]
        mc = meter[CONF_CONNECTION]
        values[CONF_METER_UNIT] = mc.get(CONF_UNIT)
        if mc.get(CONF_HOST) != connection.get(CONF_HOST) or mc.get(CONF_PORT) != connection.get(
            CONF_PORT
        ):
            values[CONF_METER_HOST] = mc.get(CONF_HOST)
            values[CONF_METER_PORT] = mc.get(CONF_PORT)
    return values


def ocpp_schema(d: Mapping[str, Any]) -> vol.Schema:
    """The OCPP charger form, prefilled from a previous attempt."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME, default=d.get(CONF_NAME, "Wallbox")): TextSelector(),
            vol.Required(
                CONF_CHARGE_POINT_ID, description={"suggested_value": d.get(CONF_CHARGE_POINT_ID)}
            ): TextSelector(),
            vol.Required(CONF_CONNECTOR_ID, default=d.get(CONF_CONNECTOR_ID, 1)): _int(1, 99),
            vol.Optional(CONF_OCPP_PASSWORD): TextSelector(
                TextSelectorConfig(type=TextSelectorType.PASSWORD)
            ),
            vol.Required(CONF_OCPP_PORT, default=d.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)): _int(
                1, 65535
            ),
            **_tls_and_cards(d),
        }
    )


def _tls_and_cards(d: Mapping[str, Any]) -> dict[Any, Any]:
    """The OCPP form's TLS files and cards, prefilled (its setup and its reconfigure)."""
    return {
        vol.Optional(key, description={"suggested_value": d.get(key)}): TextSelector()
        for key in (CONF_OCPP_CERTFILE, CONF_OCPP_KEYFILE, CONF_ID_TAGS)
    }


def with_cards(data: Mapping[str, Any], text: Any) -> dict[str, Any]:
    """Entry data with the cards of a form's field as its ``auth`` (none when empty):
    separated by commas, spaces or new lines, each checked as the controller checks its
    configuration (raises ConfigError). The one parser of every entry's card field."""
    new = {k: v for k, v in data.items() if k != CONF_AUTH}
    tags = list(dict.fromkeys(str(text or "").replace(",", " ").split()))
    if tags:
        try:
            new[CONF_AUTH] = AUTH_SCHEMA({CONF_ID_TAGS: tags})
        except vol.Invalid as err:
            raise ConfigError(f"RFID cards: {humanize_error({CONF_ID_TAGS: tags}, err)}") from err
    return new


def entry_cards(data: Mapping[str, Any]) -> str | None:
    """An entry's cards as the card field shows them (None: none)."""
    tags = (data.get(CONF_AUTH) or {}).get(CONF_ID_TAGS) or []
    return ", ".join(tags) if tags else None


def ocpp_entry_data(form: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's data (controller connector format) from the OCPP form."""
    charger: dict[str, Any] = {
        CONF_KIND: "ocpp",
        CONF_CHARGE_POINT_ID: str(form[CONF_CHARGE_POINT_ID]).strip(),
        CONF_CONNECTOR_ID: int(form[CONF_CONNECTOR_ID]),
    }
    if form.get(CONF_OCPP_PASSWORD):
        charger[CONF_OCPP_PASSWORD] = form[CONF_OCPP_PASSWORD]
    data: dict[str, Any] = {
        CONF_MODE: MODE_OCPP,
        CONF_CHARGER: charger,
        CONF_METER: BUILTIN_METER,
        CONF_OCPP_PORT: int(form[CONF_OCPP_PORT]),
    }
    return with_cards(_with_tls(data, form), form.get(CONF_ID_TAGS))


def _with_tls(data: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """Entry data with the form's TLS files (none where a field is empty)."""
    tls = (CONF_OCPP_CERTFILE, CONF_OCPP_KEYFILE)
    new = {k: v for k, v in data.items() if k not in tls}
    for key in tls:
        if str(form.get(key) or "").strip():
            new[key] = str(form[key]).strip()
    return new


def ocpp_reconfigure_schema(d: Mapping[str, Any]) -> vol.Schema:
    """What an OCPP entry's reconfigure form changes, prefilled."""
    return vol.Schema(
        {
            **_tls_and_cards(d),
            vol.Required(
                CONF_RESERVATION_EXPIRY,
                default=d.get(CONF_RESERVATION_EXPIRY, DEFAULT_RESERVATION_EXPIRY_S),
            ): NumberSelector(
                NumberSelectorConfig(min=60, max=86400, step=60, unit_of_measurement="s")
            ),
        }
    )


def ocpp_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """The reconfigure form's values for an OCPP entry's data."""
    values: dict[str, Any] = {
        key: data[key] for key in (CONF_OCPP_CERTFILE, CONF_OCPP_KEYFILE) if data.get(key)
    }
    if entry_cards(data):
        values[CONF_ID_TAGS] = entry_cards(data)
    expiry = data[CONF_CHARGER].get(CONF_RESERVATION_EXPIRY)
    if expiry is not None:
        values[CONF_RESERVATION_EXPIRY] = expiry
    return values


def ocpp_reconfigured(data: Mapping[str, Any], form: Mapping[str, Any]) -> dict[str, Any]:
    """An OCPP entry's data with the reconfigure form's TLS files, cards and expiry."""
    new = _with_tls(data, form)
    charger = dict(data[CONF_CHARGER])
    charger[CONF_RESERVATION_EXPIRY] = float(
        form.get(CONF_RESERVATION_EXPIRY, DEFAULT_RESERVATION_EXPIRY_S)
    )
    new[CONF_CHARGER] = charger
    return with_cards(new, form.get(CONF_ID_TAGS))


def check_ocpp_tls(data: Mapping[str, Any]) -> None:
    """The TLS files can be used (raises OSError / ValueError; runs in the executor)."""
    ssl_context({"certfile": data.get(CONF_OCPP_CERTFILE), "keyfile": data.get(CONF_OCPP_KEYFILE)})


class EvseManagerConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up one connector."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Real hardware over Modbus or OCPP, or a simulator of either."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[MODE_MODBUS, MODE_OCPP, MODE_SIMULATOR, MODE_OCPP_SIMULATOR],
        )

    async def async_step_modbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Charger and meter maps and connections, checked by talking to the devices."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            data = entry_data(user_input)
            serial, error = await self._probe(user_input[CONF_NAME], data, placeholders)
            if error is None:
                await self.async_set_unique_id(serial or _address(data))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=user_input[CONF_NAME], data=data)
            errors["base"] = error
        chargers, meters = await self._map_lists()
        return self.async_show_form(
            step_id="modbus",
            data_schema=modbus_schema(chargers, meters, user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_simulator(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The project's simulator of the chosen maps, served on 127.0.0.1."""
        chargers, meters = await self._map_lists()
        if user_input is not None:
            meter = user_input[CONF_METER_MAP]
            data = {
                CONF_MODE: MODE_SIMULATOR,
                CONF_CHARGER: {CONF_MAP: user_input[CONF_MAP]},
                CONF_METER: BUILTIN_METER if meter == BUILTIN_METER else {CONF_MAP: meter},
            }
            await self.async_set_unique_id(f"simulator_{user_input[CONF_MAP]}_{meter}")
            self._abort_if_unique_id_configured()
            await self.hass.async_add_executor_job(simulator_maps, data)
            return self.async_create_entry(title=user_input[CONF_NAME], data=data)
        return self.async_show_form(
            step_id="simulator",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_NAME, default="Simulated wallbox"): TextSelector(),
                    vol.Required(CONF_MAP, default="heidelberg_energy_control"): _select(chargers),
                    vol.Required(CONF_METER_MAP, default="eastron_sdm630"): _select(
                        [_builtin_meter(), *meters], "meter_map"
                    ),
                }
            ),
        )

    async def async_step_ocpp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A wallbox that will connect to us as its OCPP central system."""
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            cp_id = str(user_input[CONF_CHARGE_POINT_ID]).strip()
            await self.async_set_unique_id(f"ocpp_{cp_id}_{int(user_input[CONF_CONNECTOR_ID])}")
            self._abort_if_unique_id_configured()
            form = user_input
            data = await self._ocpp_data(lambda: ocpp_entry_data(form), placeholders)
            if isinstance(data, str):
                errors["base"] = data
            else:
                return self.async_create_entry(title=user_input[CONF_NAME], data=data)
        return self.async_show_form(
            step_id="ocpp",
            data_schema=ocpp_schema(user_input or {}),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _ocpp_data(
        self,
        build: Callable[[], dict[str, Any]],
        placeholders: dict[str, str],
        exclude: str | None = None,
    ) -> dict[str, Any] | str:
        """An OCPP form's entry data, checked as the controller checks it (configuration,
        TLS files) and against the other entries (``exclude``: the one reconfigured); or
        the form's error key (with its text in ``placeholders``)."""
        try:
            data = build()
            await self.hass.async_add_executor_job(build_config, "ocpp", data, {})
            await self.hass.async_add_executor_job(check_ocpp_tls, data)
        except ConfigError as err:
            placeholders["error"] = str(err)
            return "invalid_config"
        except (OSError, ValueError) as err:  # ssl.SSLError is an OSError
            placeholders["error"] = f"TLS files: {err}"
            return "invalid_config"
        return self._ocpp_mismatch(data, exclude=exclude) or data

    def _ocpp_mismatch(self, data: Mapping[str, Any], exclude: str | None = None) -> str | None:
        """The error when another entry for the same charge point has another password
        or port (one session per charge point: they must agree), or another entry on the
        same port other TLS files (one listener per port)."""
        mine = data[CONF_CHARGER]
        tls = (data.get(CONF_OCPP_CERTFILE), data.get(CONF_OCPP_KEYFILE))
        for entry in self._async_current_entries(include_ignore=False):
            if entry.data.get(CONF_MODE) != MODE_OCPP or entry.entry_id == exclude:
                continue
            port = entry.data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)
            theirs = (entry.data.get(CONF_OCPP_CERTFILE), entry.data.get(CONF_OCPP_KEYFILE))
            if port == data[CONF_OCPP_PORT] and theirs != tls:
                return "listener_mismatch"
            other = entry.data[CONF_CHARGER]
            if other.get(CONF_CHARGE_POINT_ID) != mine[CONF_CHARGE_POINT_ID]:
                continue
            if other.get(CONF_OCPP_PASSWORD) != mine.get(CONF_OCPP_PASSWORD) or (
                port != data[CONF_OCPP_PORT]
            ):
                return "charge_point_mismatch"
        return None

    async def async_step_ocpp_simulator(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A simulated OCPP wallbox (and EV) connecting to us on 127.0.0.1."""
        if user_input is not None:
            version = user_input[CONF_OCPP_VERSION]
            await self.async_set_unique_id(f"ocpp_simulator_{version}")
            self._abort_if_unique_id_configured()
            data = {CONF_MODE: MODE_OCPP_SIMULATOR, CONF_OCPP_VERSION: version}
            return self.async_create_entry(title=user_input[CONF_NAME], data=data)
        return self.async_show_form(
            step_id="ocpp_simulator",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_NAME, default="Simulated OCPP wallbox"): TextSelector(),
                    vol.Required(CONF_OCPP_VERSION, default="1.6"): _select(OCPP_VERSIONS),
                }
            ),
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the connection of an existing charger (same device)."""
        entry = self._get_reconfigure_entry()
        if entry.data.get(CONF_MODE) in (MODE_SIMULATOR, MODE_OCPP_SIMULATOR):
            return self.async_abort(reason="simulator_not_reconfigurable")
        if entry.data.get(CONF_MODE) == MODE_OCPP:
            return await self.async_step_reconfigure_ocpp()
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            # The cards (set in the options) stay: the same charger.
            data = {**entry_data(user_input), **_cards_of(entry.data)}
            serial, error = await self._probe(user_input[CONF_NAME], data, placeholders)
            if error is None:
                await self.async_set_unique_id(serial or _address(data))
                self._abort_if_unique_id_mismatch(reason="another_device")
                # The entry's update listener reloads it: async_update_reload_and_abort
                # would reload a second time (deprecated with a listener since 2026.6).
                self.hass.config_entries.async_update_entry(
                    entry, title=user_input[CONF_NAME], data=data
                )
                return self.async_abort(reason="reconfigure_successful")
            errors["base"] = error
        chargers, meters = await self._map_lists()
        values = user_input or form_values(entry.title, entry.data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=modbus_schema(chargers, meters, values),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure_ocpp(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """An OCPP entry's TLS files, cards and reservation expiry (the charge point ID,
        connector and port name the entry: another wallbox is another entry)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        if user_input is not None:
            form = user_input
            data = await self._ocpp_data(
                lambda: ocpp_reconfigured(entry.data, form), placeholders, entry.entry_id
            )
            if isinstance(data, str):
                errors["base"] = data
            else:
                # The entry's update listener reloads it (see async_step_reconfigure).
                self.hass.config_entries.async_update_entry(entry, data=data)
                return self.async_abort(reason="reconfigure_successful")
        return self.async_show_form(
            step_id="reconfigure_ocpp",
            data_schema=ocpp_reconfigure_schema(user_input or ocpp_form_values(entry.data)),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _map_lists(self) -> tuple[list[SelectOptionDict], list[SelectOptionDict]]:
        return await self.hass.async_add_executor_job(lambda: (_maps("charger"), _maps("meter")))

    async def _probe(
        self, name: str, data: Mapping[str, Any], placeholders: dict[str, str]
    ) -> tuple[str | None, str | None]:
        """(serial, None) when the devices answered, else (None, error key)."""
        try:
            config = await self.hass.async_add_executor_job(build_config, name, data, {})
        except MapError as err:
            placeholders["error"] = str(err)
            return None, "invalid_map"
        except ConfigError as err:
            placeholders["error"] = str(err)
            return None, "invalid_config"
        try:
            info = await probe_connector(config)
        except DeviceError as err:
            placeholders["error"] = str(err)
            return None, "cannot_connect"
        return info.serial or None, None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: EvseConfigEntry) -> OptionsFlow:
        """Polling and current settings."""
        return EvseOptionsFlow()


def _cards_of(data: Mapping[str, Any]) -> dict[str, Any]:
    return {CONF_AUTH: data[CONF_AUTH]} if data.get(CONF_AUTH) else {}


def _address(data: Mapping[str, Any]) -> str:
    c = data[CONF_CHARGER][CONF_CONNECTION]
    where = c.get(CONF_SERIAL_PORT) or f"{c.get(CONF_HOST)}:{c.get(CONF_PORT)}"
    return f"{data[CONF_CHARGER][CONF_MAP]}@{where}/{c.get(CONF_UNIT, 'default')}"


class EvseOptionsFlow(OptionsFlow):
    """Charging, solar surplus and MQTT settings (the entry reloads on change); the
    RFID cards of an entry that has no reconfigure step for them (all but OCPP ones)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with collapsible solar and MQTT sections."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        placeholders = {"error": ""}
        # An OCPP entry's cards are set in its flow and reconfigure step.
        card_field = entry.data.get(CONF_MODE) != MODE_OCPP
        cards = entry_cards(entry.data)
        if user_input is not None:
            cards = user_input.get(CONF_ID_TAGS) if card_field else cards
            options = _options(user_input, entry.options)
            low, high = options.get(CONF_MIN_CURRENT), options.get(CONF_MAX_CURRENT)
            csms_error = _csms_error(options)
            try:
                data = with_cards(entry.data, cards) if card_field else dict(entry.data)
            except ConfigError as err:
                errors["base"] = "invalid_config"
                placeholders["error"] = str(err)
            else:
                if low is not None and high is not None and low > high:
                    errors["base"] = "min_above_max"
                elif csms_error is not None:
                    errors["base"] = "invalid_csms"
                    placeholders["error"] = csms_error
                elif data.get(CONF_AUTH) and options[CONF_FREE_CHARGING]:
                    errors["base"] = "free_with_cards"
                else:
                    # Cards are entry data (as an OCPP entry's): one update, one reload;
                    # the flow's own options update then changes nothing.
                    self.hass.config_entries.async_update_entry(entry, data=data, options=options)
                    return self.async_create_entry(data=options)
        current = dict(entry.options)
        if user_input is not None:
            current.update(_options(user_input, entry.options))
        fields = _charging_fields(current, has_cards=bool(entry_cards(entry.data)))
        if card_field:
            fields[vol.Optional(CONF_ID_TAGS, description={"suggested_value": cards})] = (
                TextSelector()
            )
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    **fields,
                    vol.Required(SECTION_SOLAR): section(
                        vol.Schema(_solar_fields(current)), {"collapsed": True}
                    ),
                    vol.Required(SECTION_MQTT): section(
                        vol.Schema(_mqtt_fields(current, slugify(self.config_entry.title))),
                        {"collapsed": True},
                    ),
                    vol.Required(SECTION_CSMS): section(
                        vol.Schema(_csms_fields(current)), {"collapsed": True}
                    ),
                }
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


def _suggested(key: str, current: Mapping[str, Any]) -> vol.Optional:
    return vol.Optional(key, description={"suggested_value": current.get(key)})


def _amps(low: float, high: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(min=low, max=high, step=0.5, unit_of_measurement="A")
    )


def _charging_fields(current: Mapping[str, Any], *, has_cards: bool) -> dict[Any, Any]:
    """The charging settings; "charge without authorization" shows off for an entry with
    cards (it never charges freely)."""
    phases = current.get(CONF_PHASES)
    free = bool(current.get(CONF_FREE_CHARGING, True)) and not has_cards
    poll = current.get(CONF_POLL_INTERVAL, DEFAULT_POLL_INTERVAL)
    return {
        vol.Required(CONF_POLL_INTERVAL, default=poll): NumberSelector(
            NumberSelectorConfig(min=0.2, max=60, step=0.1, unit_of_measurement="s")
        ),
        _suggested(CONF_MIN_CURRENT, current): _amps(0, 32),
        _suggested(CONF_MAX_CURRENT, current): _amps(6, 80),
        vol.Required(CONF_PHASES, default=str(phases) if phases else PHASES_AUTO): _select(
            [PHASES_AUTO, "1", "3"], "phases"
        ),
        vol.Required(CONF_FREE_CHARGING, default=free): BooleanSelector(),
        vol.Required(
            CONF_TRANSACTION_AT_RESTART,
            default=current.get(CONF_TRANSACTION_AT_RESTART, RESTART_RESUME),
        ): _select([RESTART_RESUME, "finish"], CONF_TRANSACTION_AT_RESTART),
    }


def _solar_fields(current: Mapping[str, Any]) -> dict[Any, Any]:
    return {
        _suggested(CONF_GRID_ENTITY, current): POWER_SENSOR,
        vol.Required(
            CONF_GRID_INVERTED, default=current.get(CONF_GRID_INVERTED, False)
        ): BooleanSelector(),
        _suggested(CONF_BATTERY_ENTITY, current): POWER_SENSOR,
        _suggested(CONF_BATTERY_SOC_ENTITY, current): SOC_SENSOR,
    }


def _mqtt_fields(current: Mapping[str, Any], slug: str) -> dict[Any, Any]:
    return {
        _suggested(CONF_MQTT_HOST, current): TextSelector(),
        vol.Required(CONF_MQTT_PORT, default=current.get(CONF_MQTT_PORT, 1883)): _int(1, 65535),
        _suggested(CONF_MQTT_USERNAME, current): TextSelector(),
        # Never sent back to the browser: empty keeps the stored one (see _options).
        vol.Optional(CONF_MQTT_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
        vol.Required(
            CONF_MQTT_BASE_TOPIC,
            default=current.get(CONF_MQTT_BASE_TOPIC, default_base_topic(slug)),
        ): TextSelector(),
        vol.Required(
            CONF_MQTT_DISCOVERY, default=current.get(CONF_MQTT_DISCOVERY, False)
        ): BooleanSelector(),
    }


def _csms_fields(current: Mapping[str, Any]) -> dict[Any, Any]:
    return {
        _suggested(CONF_CSMS_URL, current): TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        ),
        _suggested(CONF_CSMS_CHARGE_POINT_ID, current): TextSelector(),
        vol.Required(CONF_CSMS_VERSION, default=current.get(CONF_CSMS_VERSION, "1.6")): _select(
            OCPP_VERSIONS
        ),
        # Never sent back to the browser: empty keeps the stored one (see _options).
        vol.Optional(CONF_CSMS_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }


def _csms_error(options: Mapping[str, Any]) -> str | None:
    """Why the charging backend settings cannot be used (None: they can, or none)."""
    if not options.get(CONF_CSMS_URL):
        return None
    try:
        entry_csms_settings(options)
    except (vol.Invalid, ValueError) as err:
        return str(err)
    return None


def _options(form: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """The flat options of the form (sections folded in; unset fields left out).

    The form never shows the stored MQTT password, so an empty password field keeps it;
    clearing the username removes the whole login."""
    solar = form.get(SECTION_SOLAR, {})
    mqtt = form.get(SECTION_MQTT, {})
    options: dict[str, Any] = {
        CONF_POLL_INTERVAL: float(form[CONF_POLL_INTERVAL]),
        CONF_FREE_CHARGING: bool(form.get(CONF_FREE_CHARGING, True)),
    }
    for key in (CONF_MIN_CURRENT, CONF_MAX_CURRENT):
        if form.get(key) is not None:
            options[key] = float(form[key])
    if form.get(CONF_TRANSACTION_AT_RESTART, RESTART_RESUME) != RESTART_RESUME:
        options[CONF_TRANSACTION_AT_RESTART] = form[CONF_TRANSACTION_AT_RESTART]
    if form.get(CONF_PHASES, PHASES_AUTO) != PHASES_AUTO:
        options[CONF_PHASES] = int(form[CONF_PHASES])
    if solar.get(CONF_GRID_ENTITY):
        options[CONF_GRID_ENTITY] = solar[CONF_GRID_ENTITY]
        options[CONF_GRID_INVERTED] = bool(solar.get(CONF_GRID_INVERTED, False))
        for key in (CONF_BATTERY_ENTITY, CONF_BATTERY_SOC_ENTITY):
            if solar.get(key):
                options[key] = solar[key]
    if mqtt.get(CONF_MQTT_HOST):
        options[CONF_MQTT_HOST] = mqtt[CONF_MQTT_HOST]
        options[CONF_MQTT_PORT] = int(mqtt.get(CONF_MQTT_PORT, 1883))
        for key in (CONF_MQTT_USERNAME, CONF_MQTT_PASSWORD, CONF_MQTT_BASE_TOPIC):
            if mqtt.get(key):
                options[key] = mqtt[key]
        keep = CONF_MQTT_USERNAME in options and CONF_MQTT_PASSWORD not in options
        if keep and stored.get(CONF_MQTT_PASSWORD):
            options[CONF_MQTT_PASSWORD] = stored[CONF_MQTT_PASSWORD]
        options[CONF_MQTT_DISCOVERY] = bool(mqtt.get(CONF_MQTT_DISCOVERY, False))
    options.update(_csms_options(form.get(SECTION_CSMS, {}), stored))
    return options


def _csms_options(csms: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """The charging backend's options (none without a URL); as for MQTT, an empty
    password field keeps the stored password."""
    if not str(csms.get(CONF_CSMS_URL) or "").strip():
        return {}
    options = {
        CONF_CSMS_URL: str(csms[CONF_CSMS_URL]).strip(),
        CONF_CSMS_CHARGE_POINT_ID: str(csms.get(CONF_CSMS_CHARGE_POINT_ID) or "").strip(),
        CONF_CSMS_VERSION: csms.get(CONF_CSMS_VERSION, "1.6"),
    }
    password = csms.get(CONF_CSMS_PASSWORD) or stored.get(CONF_CSMS_PASSWORD)
    if password:
        options[CONF_CSMS_PASSWORD] = password
    return options

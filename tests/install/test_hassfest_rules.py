"""hassfest's rules for strings.json, translations/en.json and services.yaml, checked here.

The hassfest GitHub action (.github/workflows/validate.yml) cannot run in this sandbox, so the
rules it applies to these files are restated from its source, home-assistant/core
``script/hassfest/translations.py`` (``RE_TRANSLATION_KEY``, ``translation_key_validator``,
``validate_translation_value``, ``gen_strings_schema``, ``gen_data_entry_schema``) and
``script/hassfest/services.py`` (``CUSTOM_INTEGRATION_SERVICES_SCHEMA``: ``exists`` for
``example``/``default``, ``selector.validate_selector``), read at core commits 00a70521 and
01a7395c. Only the parts that apply to this integration's files are restated.
"""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
import yaml
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from voluptuous.humanize import humanize_error

INTEGRATION = Path(__file__).resolve().parents[2] / "custom_components" / "evse_manager"

# translations.py: [a-z0-9-_]+, no "__"/"--", not starting or ending with "-" or "_".
RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def key(value: Any) -> str:
    """translation_key_validator."""
    if not isinstance(value, str) or RE_TRANSLATION_KEY.match(value) is None:
        raise vol.Invalid(f"invalid translation key {value!r}: [a-z0-9-_]+, no leading/trailing -_")
    return value


def text(allow_placeholders: bool = True) -> Any:
    """validate_translation_value."""

    def validate(value: Any) -> str:
        value = cv.string_with_no_html(value)
        if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value):
            raise vol.Invalid("placeholder inside single quotes")
        for _, field, _, _ in string.Formatter().parse(value):
            if field and (not allow_placeholders or not field.isidentifier()):
                raise vol.Invalid(f"placeholder {{{field}}} not allowed here")
        if RE_COMBINED_REFERENCE.search(value):
            raise vol.Invalid("combined translations")
        if value != value.strip():
            raise vol.Invalid("leading or trailing spaces")
        if RE_URL.search(value):
            raise vol.Invalid("URL in a translation: use a description placeholder")
        return value

    return validate


def keyed(value_schema: Any, slug: Any = key) -> Any:
    return cv.schema_with_slug_keys(value_schema, slug_validator=slug)


def _data_descriptions_in_data(flow: dict[str, Any]) -> dict[str, Any]:
    """gen_data_entry_schema's data_description_validator."""
    for step in flow["step"].values():
        for name in step.get("data_description", {}):
            if name not in step.get("data", {}):
                raise vol.Invalid(f"data_description key {name} is not in data")
    return flow


SECTION = {
    vol.Optional("data"): {str: text()},
    vol.Optional("data_description"): {str: text()},
    vol.Optional("description"): text(),
    vol.Optional("name"): text(),
}
FLOW = vol.All(
    vol.Schema(
        {
            vol.Required("step"): {
                str: {
                    vol.Optional("title"): text(),
                    vol.Optional("description"): text(),
                    vol.Optional("data"): {str: text()},
                    vol.Optional("data_description"): {str: text()},
                    vol.Optional("menu_options"): {str: text()},
                    vol.Optional("submit"): text(),
                    vol.Optional("sections"): {str: SECTION},
                }
            },
            vol.Optional("error"): {str: text()},
            vol.Optional("abort"): {str: text()},
            vol.Optional("progress"): {str: text()},
            vol.Optional("create_entry"): {str: text()},
        }
    ),
    _data_descriptions_in_data,
)
STRINGS = vol.Schema(
    {
        vol.Optional("config"): FLOW,
        vol.Optional("options"): FLOW,
        vol.Optional("selector"): keyed(
            {vol.Optional("options"): keyed(text())}, slug=vol.Any("_", cv.slug)
        ),
        vol.Optional("entity"): keyed(
            keyed(
                {
                    vol.Optional("name"): text(),
                    vol.Optional("state"): keyed(text(allow_placeholders=False)),
                    vol.Optional("state_attributes"): keyed(
                        {
                            vol.Optional("name"): text(allow_placeholders=False),
                            vol.Optional("state"): keyed(text(allow_placeholders=False)),
                        }
                    ),
                    vol.Optional("unit_of_measurement"): text(allow_placeholders=False),
                }
            ),
            slug=cv.slug,
        ),
        vol.Optional("exceptions"): keyed({vol.Optional("message"): text()}, slug=cv.slug),
        vol.Optional("issues"): keyed(
            {vol.Required("title"): text(), vol.Optional("description"): text()}
        ),
        vol.Optional("services"): keyed(
            {
                vol.Required("name"): text(),
                vol.Required("description"): text(),
                vol.Optional("fields"): keyed(
                    {
                        vol.Required("name"): str,
                        vol.Required("description"): text(),
                        vol.Optional("example"): text(),
                    }
                ),
                vol.Optional("sections"): keyed(
                    {vol.Required("name"): str, vol.Optional("description"): text()}
                ),
            }
        ),
    }
)


def exists(value: Any) -> Any:
    """services.py: example and default must not be null."""
    if value is None:
        raise vol.Invalid("Value cannot be None")
    return value


FIELD = vol.Schema(
    {
        vol.Optional("example"): exists,
        vol.Optional("default"): exists,
        vol.Optional("required"): bool,
        vol.Optional("advanced"): bool,
        vol.Optional("selector"): selector.validate_selector,
        vol.Optional("name"): str,
        vol.Optional("description"): str,
    }
)
SERVICES = vol.Schema(
    {
        cv.slug: vol.Any(
            {
                vol.Optional("fields"): {str: FIELD},
                vol.Optional("name"): str,
                vol.Optional("description"): str,
            },
            None,
        )
    }
)


def _check(schema: vol.Schema, data: Any, name: str) -> None:
    try:
        schema(data)
    except vol.Invalid as err:
        pytest.fail(f"hassfest would reject {name}: {humanize_error(data, err)}")


def _load(name: str) -> Any:
    path = INTEGRATION / name
    return (
        yaml.safe_load(path.read_text()) if name.endswith(".yaml") else json.loads(path.read_text())
    )


@pytest.mark.parametrize("name", ["strings.json", "translations/en.json"])
def test_translation_files_pass_hassfest(name):
    _check(STRINGS, _load(name), name)


def test_services_yaml_passes_hassfest():
    services = _load("services.yaml")
    _check(SERVICES, services, "services.yaml")
    strings = _load("translations/en.json")["services"]
    for service, spec in services.items():
        for field in (spec or {}).get("fields", {}):
            key(field)  # a field's name and description are translated under this key
            assert field in strings[service]["fields"], f"{service}.{field} is not translated"


def test_the_rules_reject_what_hassfest_reported():
    """The errors hassfest found before (issue 10): capitals in field keys, example: null."""
    with pytest.raises(vol.Invalid):
        STRINGS(
            {
                "services": {
                    "s": {
                        "name": "S",
                        "description": "D",
                        "fields": {"min_current_A": {"name": "M", "description": "D"}},
                    }
                }
            }
        )
    with pytest.raises(vol.Invalid):
        SERVICES({"s": {"fields": {"buffer_w": {"example": None, "selector": {"number": {}}}}}})
    with pytest.raises(vol.Invalid):
        SERVICES({"s": {"fields": {"buffer_w": {"selector": {"no_such_selector": {}}}}}})
    for bad in ("_x", "x_", "a__b", "Ab", "a b"):
        with pytest.raises(vol.Invalid):
            key(bad)


def test_every_action_field_is_an_argument_of_its_command():
    """services.yaml's fields map (field_key) onto the controller command's arguments."""
    from custom_components.evse_manager.controller.commands import COMMANDS
    from custom_components.evse_manager.services import field_key

    for service, spec in _load("services.yaml").items():
        if service not in COMMANDS:
            continue  # simulate_ev: the integration's own action
        arguments = {field_key(str(k)) for k in COMMANDS[service].schema.schema}
        assert set(spec["fields"]) - {"config_entry_id"} == arguments, service

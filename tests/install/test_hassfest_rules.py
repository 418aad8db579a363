"""hassfest's rules for strings.json, translations/en.json and services.yaml, checked here.

The hassfest GitHub action (.github/workflows/validate.yml) cannot run in this sandbox, so the
rules it applies to these files are restated from its source, home-assistant/core
``script/hassfest/translations.py`` (``RE_TRANSLATION_KEY``, ``translation_key_validator``,
``validate_translation_value``, ``gen_strings_schema``, ``gen_data_entry_schema``) and
``script/hassfest/services.py`` (``CUSTOM_INTEGRATION_SERVICES_SCHEMA``: ``exists`` for
``example``/``default``, ``selector.validate_selector``), read at core commits 00a70521 and
01a7395c, and ``script/hassfest/manifest.py`` (``CUSTOM_INTEGRATION_MANIFEST_SCHEMA``,
``sort_manifest``) at 7d56dcb0 and ``script/hassfest/requirements.py`` (``PACKAGE_REGEX``,
``validate_requirements_format``) at 00308d9d. The HACS action's file rules come from
hacs/integration ``custom_components/hacs/utils/validate.py`` (``HACS_MANIFEST_JSON_SCHEMA``,
``INTEGRATION_MANIFEST_JSON_SCHEMA``); brand image sizes from the home-assistant/brands README
(the ``brand/`` folder is read by Home Assistant 2026.3+, developer blog 2026-02-24).
Only the parts that apply to this integration's files are restated.
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
from awesomeversion import AwesomeVersion, AwesomeVersionStrategy
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from PIL import Image
from voluptuous.humanize import humanize_error

# Imported at collection: a test that ran Home Assistant's ``hass`` fixture in this worker
# first has put its testing_config (a regular ``custom_components`` package) on sys.path.
from custom_components.evse_manager.controller.commands import COMMANDS
from custom_components.evse_manager.services import field_key

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "evse_manager"

# translations.py: [a-z0-9-_]+, no "__"/"--", not starting or ending with "-" or "_".
RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
# requirements.py: PACKAGE_REGEX (name, operator, version).
PACKAGE_REGEX = re.compile(r"^(?:--.+\s)?([-_,\.\w\d\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$")
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
    for service, spec in _load("services.yaml").items():
        if service not in COMMANDS:
            continue  # simulate_ev: the integration's own action
        arguments = {field_key(str(k)) for k in COMMANDS[service].schema.schema}
        assert set(spec["fields"]) - {"config_entry_id"} == arguments, service


def version(value: Any) -> str:
    """manifest.py verify_version: a version AwesomeVersion can order (calver, semver, ...)."""
    if (
        not isinstance(value, str)
        or AwesomeVersion(value).strategy is AwesomeVersionStrategy.UNKNOWN
    ):
        raise vol.Invalid(f"{value!r} is not a valid version")
    return value


# manifest.py: the keys a custom integration's manifest may have, and their types.
MANIFEST = vol.Schema(
    {
        vol.Required("domain"): str,
        vol.Required("name"): str,
        vol.Optional("integration_type"): vol.In(
            ["device", "entity", "hardware", "helper", "hub", "service", "system"]
        ),
        vol.Optional("config_flow"): bool,
        vol.Required("documentation"): vol.All(vol.Url(), vol.Match(r"^https://")),
        vol.Required("issue_tracker"): vol.Url(),  # optional for hassfest, required by HACS
        vol.Optional("quality_scale"): vol.In(["internal", "silver", "gold", "platinum"]),
        # PyPI distributions Home Assistant installs for the user: requirements.py
        # validate_requirements_format (core 00308d9d) wants no space and PACKAGE_REGEX; a
        # pin (==) only of core integrations, so a custom one may give a range.
        vol.Optional("requirements"): [vol.All(vol.Match(r"^\S+$"), vol.Match(PACKAGE_REGEX))],
        vol.Optional("dependencies"): [str],
        vol.Optional("after_dependencies"): [str],
        vol.Required("codeowners"): [vol.Match(r"^@")],
        vol.Optional("loggers"): [str],
        vol.Required("iot_class"): vol.In(
            [
                "assumed_state",
                "calculated",
                "cloud_polling",
                "cloud_push",
                "local_polling",
                "local_push",
            ]
        ),
        vol.Optional("single_config_entry"): bool,
        vol.Required("version"): version,
        vol.Optional("import_executor"): bool,
    }
)
# hacs/utils/validate.py: HACS_MANIFEST_JSON_SCHEMA (extra keys are an error).
HACS = vol.Schema(
    {
        vol.Optional("content_in_root"): bool,
        vol.Optional("country"): vol.Any(str, [str]),
        vol.Optional("filename"): str,
        vol.Optional("hacs"): version,
        vol.Optional("hide_default_branch"): bool,
        vol.Optional("homeassistant"): version,
        vol.Optional("persistent_directory"): str,
        vol.Optional("render_readme"): bool,
        vol.Optional("zip_release"): bool,
        vol.Required("name"): str,
    }
)


def test_manifest_passes_hassfest_and_hacs():
    manifest = _load("manifest.json")
    _check(MANIFEST, manifest, "manifest.json")
    assert manifest["domain"] == INTEGRATION.name
    keys = list(manifest)
    assert keys == sorted(keys, key=lambda k: {"domain": ".domain", "name": ".name"}.get(k, k)), (
        "manifest keys: domain, name, then alphabetical"
    )


def test_hacs_json_installs_the_release_zip():
    hacs = json.loads((ROOT / "hacs.json").read_text())
    _check(HACS, hacs, "hacs.json")
    assert hacs["zip_release"] is True
    assert hacs["filename"] == "evse_manager.zip"  # what scripts/release writes
    # HACS installs the zip only for a release; "install the default branch" would copy the
    # repository's folder, whose controller/ and modbus_maps/ are symlinks: not offered.
    assert hacs["hide_default_branch"] is True
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion("2025.4.4")  # tested here
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


@pytest.mark.parametrize(
    ("name", "square", "shortest"),
    [
        ("icon.png", True, 256),
        ("icon@2x.png", True, 512),
        ("logo.png", False, 128),
        ("logo@2x.png", False, 256),
    ],
)
def test_brand_images(name, square, shortest):
    """brands README: icons 256/512 px squares, logos landscape with that shortest side."""
    with Image.open(INTEGRATION / "brand" / name) as image:
        assert image.format == "PNG"
        assert image.mode == "RGBA"  # transparent background
        width, height = image.size
        assert min(width, height) == shortest
        assert (width == height) if square else (width > height)

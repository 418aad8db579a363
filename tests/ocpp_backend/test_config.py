"""The ``csms`` section: validated with the rest of the file, every mistake named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.config import parse_config
from controller.errors import ConfigError

CHARGER = {"map": "heidelberg_energy_control", "connection": {"kind": "tcp", "host": "127.0.0.1"}}


def _config(tmp_path: Path, csms: Any) -> Any:
    return parse_config(
        {
            "store": str(tmp_path / "s.db"),
            "connectors": {"left": {"charger": CHARGER}, "right": {"charger": CHARGER}},
            "csms": csms,
        }
    )


def test_defaults_number_the_connectors_in_order(tmp_path: Path) -> None:
    c = _config(tmp_path, {"url": "wss://csms.example.com/ocpp/", "charge_point_id": "EVM-1"})
    assert c.csms is not None
    assert c.csms.connectors == {"left": 1, "right": 2}
    assert c.csms.version == "1.6"
    assert c.csms.endpoint == "wss://csms.example.com/ocpp/EVM-1"
    assert c.csms.ssl_context() is not None
    assert c.csms.meter_interval_s == 60


def test_explicit_mapping_and_version(tmp_path: Path) -> None:
    c = _config(
        tmp_path,
        {
            "url": "ws://10.0.0.2:9000",
            "charge_point_id": "EVM-1",
            "version": "2.0.1",
            "password": "0123456789abcdef",
            "connectors": {"right": 1},
        },
    )
    assert c.csms is not None
    assert c.csms.connectors == {"right": 1}
    assert c.csms.version == "2.0.1"
    assert c.csms.ssl_context() is None


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"charge_point_id": "A"}, "url"),
        ({"url": "http://x", "charge_point_id": "A"}, "url"),
        ({"url": "ws://x", "charge_point_id": "a/b"}, "charge_point_id"),
        ({"url": "ws://x", "charge_point_id": "A", "version": "2.1"}, "version"),
        ({"url": "ws://x", "charge_point_id": "A", "password": "short"}, "password"),
        ({"url": "ws://x", "charge_point_id": "A", "connectors": {"nope": 1}}, "nope"),
        (
            {"url": "ws://x", "charge_point_id": "A", "connectors": {"left": 1, "right": 1}},
            "once",
        ),
        ({"url": "wss://x", "charge_point_id": "A", "cafile": "/nonexistent/ca.pem"}, "csms"),
        (
            {"url": "ws://x", "charge_point_id": "A", "reconnect_min_s": 9, "reconnect_max_s": 1},
            "reconnect",
        ),
    ],
)
def test_mistakes_name_the_field(tmp_path: Path, section: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(tmp_path, section)


def test_the_readme_example_is_valid(tmp_path: Path) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    part = readme.split("## Reporting to a charging backend (CSMS)", 1)[1]
    example = yaml.safe_load(part.split("```yaml", 1)[1].split("```", 1)[0])
    c = _config(tmp_path, example["csms"])
    assert c.csms is not None
    assert c.csms.endpoint == "wss://csms.example.com/ocpp/EVM-0001"

"""The controller's error enums are EVerest's errors/*.yaml, name for name and in order
(checked against the verbatim copies in tests/everest_reference/errors)."""

from pathlib import Path

import pytest
import yaml

from controller.catalog import ERROR_NAMES
from controller.everest.errors import ERROR_INTERFACES, ERROR_TYPES

REFERENCE = Path(__file__).resolve().parents[1] / "everest_reference" / "errors"


def _reference(interface: str) -> list[str]:
    return [
        e["name"] for e in yaml.safe_load((REFERENCE / f"{interface}.yaml").read_text())["errors"]
    ]


@pytest.mark.parametrize("enum", ERROR_INTERFACES, ids=lambda e: e.__name__)
def test_enum_is_the_interface_error_file(enum):
    interface = next(iter(enum)).value.partition("/")[0]
    assert [e.value for e in enum] == [f"{interface}/{name}" for name in _reference(interface)]


def test_every_interface_evse_manager_reports_through_is_covered():
    covered = {t.partition("/")[0] for t in ERROR_TYPES}
    assert covered == {p.stem for p in REFERENCE.glob("*.yaml")}


def test_error_sensor_states_are_each_name_once():
    names = [name for path in sorted(REFERENCE.glob("*.yaml")) for name in _reference(path.stem)]
    assert set(ERROR_NAMES) == set(names)
    assert len(ERROR_NAMES) == len(set(ERROR_NAMES))

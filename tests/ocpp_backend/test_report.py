"""The one mapping from our connector's updates to OCPP statuses and transactions."""

from __future__ import annotations

from controller.everest import Error, Severity
from controller.kernel.states import State
from controller.manager import Update
from controller.ocpp.backend.report import STATUS, ConnectorReport, StatusReport
from controller.ocpp.link import Status


def test_every_state_has_a_status() -> None:
    assert set(STATUS) == set(State)


def test_a_fatal_error_is_faulted_with_its_ocpp_code() -> None:
    report = ConnectorReport(1)
    report.on_update(Update("c", "state", State.Charging))
    ground = Error(
        type="evse_board_support/MREC2GroundFailure", message="RCD", severity=Severity.High
    )
    (status,) = report.on_update(Update("c", "errors", [ground]))
    assert isinstance(status, StatusReport)
    assert (status.status, status.error_code, status.info) == (
        Status.Faulted,
        "GroundFailure",
        "RCD",
    )
    (cleared,) = report.on_update(Update("c", "errors", []))
    assert isinstance(cleared, StatusReport)
    assert (cleared.status, cleared.error_code) == (Status.Charging, "NoError")


def test_an_unchanged_status_is_not_reported_again() -> None:
    report = ConnectorReport(1)
    assert len(report.on_update(Update("c", "state", State.Idle))) == 1
    assert report.on_update(Update("c", "state", State.Idle)) == []
    assert report.on_update(Update("c", "telemetry", None)) == []

"""The install test's log check: what counts as a problem of ours in a Home Assistant log."""

from .test_hacs_install import _our_problems

LOG = """\
2026-12-01 20:12:58.936 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom \
integration evse_manager which has not been tested by Home Assistant.
2026-12-01 20:13:02.626 ERROR (MainThread) [custom_components.evse_manager.controller.manager] boom
Traceback (most recent call last):
  File "manager.py", line 1, in run
2026-12-01 20:13:03.000 WARNING (MainThread) [homeassistant.util.loop] Detected blocking call \
to open inside the event loop by custom integration 'evse_manager' at \
custom_components/evse_manager/connector.py, line 3
2026-12-01 20:13:04.000 WARNING (MainThread) [pymodbus.logging] a retry
2026-12-01 20:13:05.000 ERROR (MainThread) [pymodbus.logging] connection lost
2026-12-01 20:13:09.416 ERROR (MainThread) [homeassistant.config_entries] Error setting up \
entry Radio Browser for radio_browser
Traceback (most recent call last):
  File "radios/radio_browser.py", line 76, in _request
"""


def test_our_errors_blocking_calls_and_tracebacks_count_others_do_not():
    problems = [p.splitlines()[0].split("] ", 1)[1] for p in _our_problems(LOG)]
    assert problems == [
        "boom",
        "Detected blocking call to open inside the event loop by custom integration "
        "'evse_manager' at custom_components/evse_manager/connector.py, line 3",
        "connection lost",
    ]

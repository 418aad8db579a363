"""Reporting to a charging backend: every connector also appears as a connector of one
OCPP 1.6J / 2.0.1 charge point to a configured CSMS (we are the charge point).

``settings`` validates the ``csms`` section (no ``ocpp`` import), ``report`` turns the
controller's updates into version-neutral reports (the one mapping), ``outbox`` keeps
the transaction messages durably, ``v16`` / ``v201`` speak each version and ``client``
stays connected and delivers.
"""

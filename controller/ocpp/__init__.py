"""OCPP 1.6J / 2.0.1: wallboxes that speak OCPP become connectors (we are the central system)."""

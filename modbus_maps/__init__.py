"""Declarative Modbus device maps (YAML data files), loaded by ``controller.modbus.maps``."""

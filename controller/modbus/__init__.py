"""Real devices over Modbus: declarative maps, the map-driven charger and meter ports, buses."""

"""EV charging controller implementing EVerest's evse_manager interface."""

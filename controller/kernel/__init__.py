"""The charging kernel: pure state machine, transition table and its parts."""

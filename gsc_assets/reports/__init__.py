"""What a report is and what Google offers, known to both sides: the client and the simulator."""

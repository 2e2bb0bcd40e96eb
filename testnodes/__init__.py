"""Stand-ins for nodes that cannot run here; they share no code with src/custody."""

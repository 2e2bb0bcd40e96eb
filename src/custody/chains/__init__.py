"""Pure chain knowledge per family: network parameters, address codecs, units; no I/O."""

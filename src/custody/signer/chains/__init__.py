"""Sign halves per chain family: parse a template, verify it, sign it."""

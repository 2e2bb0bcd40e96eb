"""`make demo`: the custody stack end to end on regtest/test nodes (run `python -m demo`)."""

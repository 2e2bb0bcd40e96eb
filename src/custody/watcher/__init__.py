"""The watcher: one loop per chain, talking to full nodes and to the coordinator; holds no keys."""

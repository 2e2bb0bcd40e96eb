"""Wire models, error codes and canonical bytes shared by the coordinator, watcher and signer."""

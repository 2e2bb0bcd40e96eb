"""The signer: encrypted keys, policy and offline signing; no node, no database, no port."""

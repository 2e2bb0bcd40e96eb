"""Watch halves per chain family: node RPC, deposit discovery, templates, broadcast."""

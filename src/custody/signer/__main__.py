"""`python -m custody.signer`: the signer's commands without the rest of the `custody` CLI."""

from custody.signer.cli import signer_app

signer_app(prog_name="custody signer")

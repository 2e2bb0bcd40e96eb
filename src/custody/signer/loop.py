"""The signer's work loop: keep the address pool full, then poll, check, sign and answer templates."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from custody.contract.templates import Rejection, Template
from custody.signer import pool
from custody.signer.client import CoordinatorClient
from custody.signer.derivation import Branch
from custody.signer.errors import CoordinatorError, Refusal
from custody.signer.errors import RefusalCode as R
from custody.signer.policy import CurrencyPolicy
from custody.signer.settings import SignerSettings
from custody.signer.signing import TemplateSigner, open_signer

log = logging.getLogger(__name__)


@dataclass
class LoopReport:
    """What one pass did."""

    added: int = 0
    signed: int = 0
    refused: int = 0
    conflicts: int = 0


class SignerLoop:
    """One pass = pool top-up + one batch of unsigned templates. Outbound HTTP only."""

    def __init__(self, signer: TemplateSigner, client: CoordinatorClient, settings: SignerSettings):
        self.signer = signer
        self.client = client
        self.settings = settings
        self._targets = {
            Branch.RECEIVE: settings.pool_target,
            Branch.CHANGE: settings.change_target(),
        }

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until `stop` is set; an unreachable coordinator is retried, not fatal."""
        log.info("signer loop started (fingerprint %s)", self.signer.keys.fingerprint.hex())
        while not stop.is_set():
            try:
                report = self.run_once()
            except CoordinatorError as e:
                log.warning("pass failed, retrying in %.1fs: %s", self.settings.poll_interval, e)
            else:
                if report.added or report.signed or report.refused or report.conflicts:
                    log.info("pass: %s", report)
            stop.wait(self.settings.poll_interval)
        log.info("signer loop stopped")

    def run_once(self) -> LoopReport:
        """One pass; CoordinatorError when the coordinator cannot be reached."""
        report = LoopReport()
        active, mismatched = self._currencies()
        report.added = pool.top_up(self.client, self.signer, active, self._targets)
        for template in self.client.unsigned_templates(self.settings.template_batch):
            self._answer(template, mismatched, report)
        return report

    def _currencies(self) -> tuple[list[CurrencyPolicy], dict[str, str]]:
        """Policy currencies the coordinator lists the same way; the others with the reason."""
        listed = {c.code: c for c in self.client.currencies()}
        active, mismatched = [], {}
        for code, ours in self.signer.policy.currencies.items():
            theirs = listed.get(code)
            if theirs is None:
                continue
            if (theirs.family, theirs.network) != (ours.family, ours.network):
                mismatched[code] = (
                    f"the coordinator lists {code} on {theirs.family}/{theirs.network}, "
                    f"the signer's policy on {ours.family}/{ours.network}"
                )
                log.error("not serving %s: %s", code, mismatched[code])
            else:
                active.append(ours)
        return active, mismatched

    def _answer(self, template: Template, mismatched: dict[str, str], report: LoopReport) -> None:
        try:
            if template.currency in mismatched:
                raise Refusal(R.NETWORK_MISMATCH, mismatched[template.currency])
            signed = self.signer.sign(template)
        except Refusal as refusal:
            log.warning("refused template %s: %s", template.id, refusal)
            rejection = Rejection(code=str(refusal.code), reason=refusal.reason)
            answered = self.client.post_rejection(template.id, rejection)
            report.refused += 1
        else:
            answered = self.client.post_signature(template.id, signed)
            report.signed += 1
        if answered is None:
            # 409: someone answered this template first. Our answer is deterministic, so there
            # is nothing to retry; the coordinator's record stands.
            log.warning("template %s already has another answer at the coordinator", template.id)
            report.conflicts += 1


@contextmanager
def open_loop(
    settings: SignerSettings, passphrase: str, *, transport: httpx.BaseTransport | None = None
) -> Iterator[SignerLoop]:
    """A ready loop for `settings` (keystore unlocked, journal locked, client open)."""
    token = settings.api_token()
    with (
        open_signer(settings, passphrase) as signer,
        CoordinatorClient(
            settings.coordinator_url, token, timeout=settings.http_timeout, transport=transport
        ) as client,
    ):
        yield SignerLoop(signer, client, settings)

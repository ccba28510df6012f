"""Parse and decide one request, in a parser process or in-process, never raising."""

from __future__ import annotations

import hashlib
import signal
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

from ingest import spool
from ingest.directory import Directory, DirectoryUnavailable
from ingest.model import Content, Decision, Finding, Suppression
from ingest.reading import mime
from ingest.rules.triage import decide, warm_up
from ingest.stored_json import StoredJSON, decision_json, stored_json


@dataclass
class Envelope:
    """What the edge knows before looking inside the request."""

    channel: str
    sender: str
    recipients: list[str]
    received_at: datetime
    client_ip: str = ""
    partner: str | None = None
    source: str | None = (
        None  # where a stored message was taken from: "imap:<mailbox>", "replay:<file>"
    )


@dataclass
class Analysis:
    decision: Decision
    dedup_key: str
    message_id: str = ""
    content: Content | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)
    # Set by a parser process (`for_the_listener`): the JSON the journal stores, encoded there.
    # Whoever changes the decision afterwards goes through `adjusted`, or the change is lost.
    stored: StoredJSON | None = None


def adjusted(analysis: Analysis, adjust: Callable[[Analysis], None]) -> Analysis:
    """`adjust` applied to the analysis (replay: no acknowledgement, never a page), and the
    decision's JSON that a parser process encoded before the change encoded again: the journal
    stores the decision as adjusted, whichever way it was analysed."""
    adjust(analysis)
    if analysis.stored is not None:
        analysis.stored = replace(analysis.stored, decision=decision_json(analysis.decision))
    return analysis


def for_the_listener(analysis: Analysis) -> Analysis:
    """The analysis as a parser process hands it back: the decision and content encoded for the
    journal, and the content's objects left behind (the listener stores them, never reads them).
    Should the encoding fail, the analysis goes back as it is, and the listener's journal
    encodes it (and meets the same failure there, as it did before parsers encoded)."""
    try:
        stored = stored_json(analysis.decision, analysis.content)
    except (TypeError, ValueError):
        return analysis
    analysis.stored, analysis.content = stored, None
    return analysis


@dataclass(frozen=True)
class Rules:
    """The settings the rules need, small enough to ship to a parser process."""

    urgent_addresses: tuple[str, ...] = ()
    own_addresses: tuple[str, ...] = ()
    trusted_authserv_ids: tuple[str, ...] = ()
    time_limit: float = 10.0


TIMED_OUT = "parsing exceeded its time limit"
PARSER_DIED = "parser process died"
SECOND = "(second analysis)"


class ParseTimeout(Exception):
    pass


@contextmanager
def _time_limit(seconds: float):
    """A limit on the CPU time this process spends on the request (SIGPROF), so that neither
    waiting for a parser nor sharing a loaded machine counts against it; only effective in a
    process's main thread (parser processes)."""
    try:
        previous = signal.signal(signal.SIGPROF, _raise_timeout)
    except ValueError:  # not the main thread: the caller's own timeout applies
        yield
        return
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _raise_timeout(_signum, _frame):
    raise ParseTimeout(TIMED_OUT)


def dedup_key(sender: str, message_id: str, *body: bytes | memoryview) -> str:
    """Same sender + same Message-ID + same content: the same request, delivered twice. The
    content may come in pieces, hashed in turn as if joined (a big mail is not copied)."""
    digest = hashlib.sha256()
    for piece in body:
        digest.update(piece)
    return hashlib.sha256(
        f"{sender.lower()}\0{message_id}\0{digest.hexdigest()}".encode()
    ).hexdigest()


def mail_body(raw: bytes) -> memoryview:
    """The bytes after the header block: what stays equal when relays add trace headers (a
    view, not a copy)."""
    raw = raw if isinstance(raw, bytes | bytearray) else bytes(raw)
    for separator in (b"\r\n\r\n", b"\n\n"):
        found = raw.find(separator)
        if found >= 0:
            return memoryview(raw)[found + len(separator) :]
    return memoryview(raw)


def review_decision(envelope: Envelope, error: str) -> Decision:
    """What a request that could not be analysed becomes: a ticket for staff, never answered."""
    decision = Decision(received_at=envelope.received_at)
    decision.suppression = Suppression(acknowledge=False, skip_reason="needs-review")
    decision.trail.append(Finding("analysis", "review", True, error))
    return decision


def review(raw: bytes, envelope: Envelope, error: str) -> Analysis:
    """The analysis of a request that could not be analysed."""
    return Analysis(
        review_decision(envelope, error), dedup_key(envelope.sender, "", raw), error=error
    )


def worth_another_look(decision: Decision) -> bool:
    """A review decision because the parse ran out of time (or its parser died): the request
    itself may be fine, and deserves a second analysis with a larger budget."""
    return any(
        f.rule == "analysis"
        and f.value is True
        and (TIMED_OUT in f.why or PARSER_DIED in f.why)
        and SECOND not in f.why
        for f in decision.trail
    )


class Analyser:
    """Parse → identify → classify, with the directory and rules of this process."""

    def __init__(self, directory: Directory, rules: Rules):
        self.directory, self.rules = directory, rules

    def mail(self, raw: bytes, envelope: Envelope) -> Analysis:
        """Raw MIME from the SMTP edge (or a provider that forwards raw mail)."""

        def run() -> Analysis:
            content = mime.parse(
                raw,
                envelope_sender=envelope.sender,
                recipients=envelope.recipients,
                client_ip=envelope.client_ip,
            )
            key = dedup_key(
                content.from_address or envelope.sender,
                content.message_id,
                mail_body(raw),
                content.subject.encode(),
            )
            return Analysis(self._decide(content, envelope, raw), key, content.message_id, content)

        return self._guarded(run, raw, envelope)

    def content(
        self, content: Content, envelope: Envelope, raw: bytes, key_material: str
    ) -> Analysis:
        """A request already structured by its edge (webhook)."""

        def run() -> Analysis:
            decision = self._decide(content, envelope, None)
            key = dedup_key(envelope.partner or envelope.sender, key_material, raw)
            return Analysis(decision, key, content.message_id, content)

        return self._guarded(run, raw, envelope)

    def _guarded(self, run: Callable[[], Analysis], raw: bytes, envelope: Envelope) -> Analysis:
        """Time-limited; any failure but a temporary one becomes a ticket for review."""
        try:
            with _time_limit(self.rules.time_limit):
                return run()
        except DirectoryUnavailable:
            raise  # temporary: the edge answers 4xx / 503 and the sender retries
        except Exception as exc:  # never a lost request: staff review it
            return review(raw, envelope, f"{type(exc).__name__}: {exc}")

    def _decide(self, content: Content, envelope: Envelope, raw: bytes | None) -> Decision:
        return decide(
            content,
            self.directory,
            received_at=envelope.received_at,
            urgent_addresses=self.rules.urgent_addresses,
            own_addresses=self.rules.own_addresses,
            trusted_authserv_ids=self.rules.trusted_authserv_ids,
            raw=raw,
        )


# Parser processes ------------------------------------------------------------------

_analyser: Analyser | None = None


def init_process(directory_factory: Callable[[], Directory], rules: Rules) -> None:
    """Pool initializer: one directory connection and one rule set per parser process."""
    global _analyser
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    _analyser = Analyser(directory_factory(), rules)
    warm_up()


def analyse_in_process(method: str, *args) -> Analysis:
    """Run `Analyser.<method>(*args)` with this process's analyser ("mail" or "content"), its
    result ready for the listener's journal."""
    assert _analyser is not None, "init_process was not run in this process"
    return for_the_listener(getattr(_analyser, method)(*spool.taken(args)))

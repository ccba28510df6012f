"""Compose the acknowledgement e-mail: RFC 3834 headers, threading headers, text + HTML.

Built with the standard library's classic (compat32) MIME classes: every header is ours and
already well-formed, so it is written as given instead of being parsed back into header
objects (`policy=default` re-parsed each one the moment it was set: 3.6 ms per
acknowledgement against 0.9 ms here, serialisation included).  The parts are UTF-8 in
quoted-printable: 7-bit clean through any relay, still readable in the raw file.
"""

from __future__ import annotations

import binascii
import io
import uuid
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32, EmailPolicy
from email.utils import format_datetime, formataddr

from workers.acks.render import RenderedAck

PRODUCT = "guichet"


def ack_message_id(ack_id: int, ticket_number: int, domain: str) -> str:
    """Deterministic: a resend of the same acknowledgement carries the same Message-ID."""
    return f"ack-{ack_id}.{ticket_number}@{domain}"


def compose(
    rendered: RenderedAck,
    *,
    sender: str,
    recipient: str,
    message_id: str,
    in_reply_to: str,
    references: list[str],
    language: str,
    sent_at,
) -> Message:
    """The acknowledgement; `str(message["Subject"])` is its subject, decoded."""
    sender = formataddr(("", sender)) if "<" not in sender else sender
    thread = [*references, in_reply_to][-20:] if in_reply_to else []
    addresses = (sender, recipient, language, *thread)
    if not all(value.isascii() for value in addresses):
        return _compose_internationalised(rendered, sender, recipient, message_id, thread, language, sent_at)  # fmt: skip
    message: Message = _text_part(rendered.text, "plain")
    if rendered.html:
        text = message
        # A boundary of our own: "=_" never occurs in quoted-printable text, so the generator
        # need not search the parts for a clash (it compiled a regex per message to do so).
        # 64 random bits keep the Content-Type line under 78 characters: written as it is.
        message = MIMEMultipart("alternative", boundary=f"=_guichet_{uuid.uuid4().hex[:16]}")
        message.attach(text)
        message.attach(_text_part(rendered.html, "html"))
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = _subject(rendered.subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{message_id}>"
    _common(message, sender, thread, language)
    return message


def _text_part(text: str, subtype: str) -> Message:
    """A text part in UTF-8, quoted-printable: the headers `MIMEText` writes, in its order, and
    the body encoded by `binascii` (C) rather than by the email package's encoder (Python, a
    character at a time: five times slower). A soft line break may fall inside a character's
    bytes, which quoted-printable allows: a reader decodes the bytes, then the UTF-8."""
    part = MIMENonMultipart("text", subtype, charset="utf-8")
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _subject(text: str) -> Header:
    """Runs of ASCII words as they are (the "[DRI #100042]" tag stays readable to any filter),
    the others as UTF-8 encoded words."""
    runs: list[tuple[bool, list[str]]] = []
    for word in text.split(" "):
        if runs and runs[-1][0] == word.isascii():
            runs[-1][1].append(word)
        else:
            runs.append((word.isascii(), [word]))
    header = Header()
    for ascii_only, words in runs:
        header.append(" ".join(words), "us-ascii" if ascii_only else "utf-8")
    return header


def _common(message: Message, sender: str, thread: list[str], language: str) -> None:
    if thread:
        message["In-Reply-To"] = f"<{thread[-1]}>"
        message["References"] = " ".join(f"<{r}>" for r in thread)
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answered by peers
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to us
    message["X-Loop"] = sender
    message["Content-Language"] = language


def _compose_internationalised(
    rendered: RenderedAck, sender, recipient, message_id, thread, language, sent_at
) -> EmailMessage:
    """An address or a reference outside ASCII (an internationalised mailbox): the modern
    API, which knows how to write those headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{message_id}>"
    message.set_content(rendered.text)
    if rendered.html:
        message.add_alternative(rendered.html, subtype="html")
    _common(message, sender, thread, language)  # after set_content, which drops Content-*
    return message


class _AsWritten(Compat32):
    """compat32 that writes a short ASCII header as it is. Every header here is ours and
    well-formed; compat32 passed each through the Header class to fold it (1.5 ms of an
    acknowledgement's 2.4 ms serialisation), which a line this short leaves unchanged. A longer
    line, or a Header (the subject), is folded as before."""

    def _fold(self, name, value, sanitize):
        if (
            isinstance(value, str)
            and len(name) + len(value) < 77
            and value.isascii()
            and value.isprintable()
            and value == value.strip()
            and "  " not in value
        ):
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


AS_WRITTEN = _AsWritten()


class _Generator(BytesGenerator):
    """The standard generator, writing a body that holds no carriage return in one piece
    rather than a line at a time (the same bytes: each line end becomes the policy's)."""

    def _write_lines(self, lines: str) -> None:
        if "\r" in lines:
            super()._write_lines(lines)
        else:
            self.write(lines if self._NL == "\n" else lines.replace("\n", self._NL))


def wire_bytes(message: Message, linesep: str = "\n", utf8: bool = False) -> bytes:
    """The message as bytes with `linesep` line ends; `utf8` for an SMTPUTF8 transaction (the
    internationalised form only). No "From " mangling: that is for mbox files, not for SMTP."""
    if isinstance(message.policy, EmailPolicy):
        policy = message.policy.clone(linesep=linesep, utf8=utf8 or message.policy.utf8)
    else:
        policy = AS_WRITTEN.clone(linesep=linesep)
    with io.BytesIO() as out:
        _Generator(out, mangle_from_=False, policy=policy).flatten(message)
        return out.getvalue()

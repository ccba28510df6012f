"""Compose the acknowledgement e-mail: RFC 3834 headers, threading headers, text + HTML."""

from __future__ import annotations

from email.message import EmailMessage
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
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr(("", sender)) if "<" not in sender else sender
    message["To"] = recipient
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
        message["References"] = " ".join(f"<{r}>" for r in [*references, in_reply_to][-20:])
    message["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answered by peers
    message["X-Auto-Response-Suppress"] = "All"  # Exchange: no out-of-office back to us
    message["X-Loop"] = sender
    message.set_content(rendered.text)
    if rendered.html:
        message.add_alternative(rendered.html, subtype="html")
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message

"""Build test mails as a customer's MUA would, and send them with smtplib."""

from __future__ import annotations

import email.policy
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid


def customer_mail(
    *,
    sender: str = "jf.herve@armor-logistique.fr",
    name: str = "Jean-François Hervé",
    to: str = "support@dri.example",
    subject: str = "Question sur la configuration DNS",
    body: str = "Bonjour,\n\nPourriez-vous vérifier la zone DNS de armor-logistique.fr ?\n\nCordialement,\nJean-François Hervé\nClient 20481\n",
    message_id: str | None = None,
    headers: dict | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>" if name else sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(
        domain=sender.rpartition("@")[2] or "example.org"
    )
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(body)
    return message


def send(
    address: tuple[str, int],
    message: EmailMessage,
    *,
    mail_from: str | None = None,
    rcpt: list[str] | None = None,
    timeout: float = 30,
):
    """Send one message; returns (code, text) of the final reply, never raising on 4xx/5xx."""
    with smtplib.SMTP(*address, timeout=timeout) as smtp:
        smtp.ehlo("client.example")
        sender = message["From"].addresses[0].addr_spec if mail_from is None else mail_from
        code, text = smtp.mail(sender)
        if code != 250:
            return code, text.decode()
        for recipient in rcpt or [message["To"].addresses[0].addr_spec]:
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                return code, text.decode()
        code, text = smtp.data(message.as_bytes(policy=email.policy.SMTP))  # CRLF line ends
        return code, text.decode()


# A body the parser cannot finish within one tick of its CPU-time timer, whatever the machine:
# 20,000 distinct lines (a shorter or repetitive one was parsed before the limit fired, once
# the rules got faster). For tests of a parse that runs out of time.
TIMER_OUTLASTING_BODY = "Bonjour,\n\n" + "".join(
    f"Ligne {k} : le serveur srv-{k} refuse nos envois depuis ce matin.\n" for k in range(20000)
)

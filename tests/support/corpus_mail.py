"""Build the generated corpus's mails as customers' programs write them: plain, HTML, eight charsets, attachments, replies, out-of-office, malformed."""

from __future__ import annotations

import email.policy
import random
import unicodedata
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from tests.support.corpus_people import Organisation, Person

SUPPORT = "support@dri.example"
REQUESTS = [
    ("Site inaccessible", "Notre site www.{domain} ne répond plus depuis ce matin, erreur 502."),
    ("Boîte mail pleine", "La boîte contact@{domain} est pleine, pouvez-vous augmenter le quota ?"),
    ("Renouvellement du certificat", "Le certificat TLS de {domain} expire dans huit jours."),
    ("Zone DNS", "Pouvez-vous ajouter un enregistrement MX secondaire pour {domain} ?"),
    ("Sauvegarde en échec", "La sauvegarde de la base de production a échoué cette nuit."),
    ("Lenteurs sur le serveur", "Le serveur répond très lentement depuis la mise à jour de PHP."),
    ("Accès FTP", "Un nouveau prestataire a besoin d'un accès FTP au dossier /www."),
    ("Mail server unreachable", "Our mail server for {domain} has been unreachable since 9am."),
    ("Question on invoice", "Could you explain the second line of last month's invoice?"),
]
# (charset, a line in a script that charset was made for, transfer encoding)
CHARSETS = [
    ("utf-8", "Merci d'avance, cordialement — l'équipe technique.", "quoted-printable"),
    ("iso-8859-1", "Merci d'avance, à bientôt, cordialement.", "quoted-printable"),
    ("iso-8859-15", "Merci d'avance, coût estimé 150 € HT.", "8bit"),
    ("windows-1252", "Merci d’avance — « cordialement ».", "quoted-printable"),
    ("us-ascii", "Thanks in advance, regards.", "7bit"),
    ("koi8-r", "Спасибо заранее. Thanks in advance.", "base64"),
    ("shift_jis", "よろしくお願いします。Thanks in advance.", "base64"),
    ("gb2312", "提前感谢。Thanks in advance.", "base64"),
]
ATTACHMENTS = [
    ("capture.png", "image", "png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8),
    ("journal.log", "text", "plain", b"2026-12-01 10:00:01 error 502 upstream timed out\n" * 40),
    ("devis.pdf", "application", "pdf", b"%PDF-1.4\n" + b"0 obj << >> endobj\n" * 120),
    ("export.csv", "text", "csv", b"date;visites\n2026-11-30;1200\n" * 30),
]


ASCII_ONLY = ("us-ascii", "koi8-r", "shift_jis", "gb2312")


def _unaccented(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("—", "-").replace("’", "'"))
    return plain.encode("ascii", "ignore").decode()


def body_text(org: Organisation, person: Person, request: str, closing: str) -> str:
    return (
        f"Bonjour,\n\n{request.format(domain=org.domain or 'notre-site.fr')}\n\n{closing}\n\n"
        f"{person.name}\nClient {org.client_number}\n"
    )


def _head(message: EmailMessage, person: Person, subject: str, rng: random.Random) -> None:
    message["From"] = formataddr((person.name, person.address))
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(email.utils.localtime())
    message["Message-ID"] = make_msgid(
        idstring=f"{rng.getrandbits(40):x}", domain=person.address.rpartition("@")[2]
    )


def original(org: Organisation, person: Person, rng: random.Random, shape: int) -> EmailMessage:
    """A new request: shape 0 plain, 1 HTML only, 2 text + HTML, 3 plain + attachment."""
    subject, request = rng.choice(REQUESTS)
    charset, closing, cte = CHARSETS[rng.randrange(len(CHARSETS))]
    text = body_text(org, person, request, closing)
    if charset in ASCII_ONLY:  # a charset without French letters: the French part unaccented
        text = _unaccented(body_text(org, person, request, "")) + closing + "\n"
    message = EmailMessage()
    _head(message, person, subject, rng)
    html = (
        "<html><body>" + "".join(f"<p>{line}</p>" for line in text.splitlines()) + "</body></html>"
    )
    if shape == 1:
        message.set_content(html, subtype="html", charset="utf-8", cte="quoted-printable")
    else:
        message.set_content(text, charset=charset, cte=cte)
    if shape == 2:
        message.add_alternative(html, subtype="html", charset="utf-8")
    if shape == 3:
        name, maintype, subtype, data = rng.choice(ATTACHMENTS)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


def reply(
    person: Person,
    subject: str,
    in_reply_to: str | None,
    references: list[str],
    rng: random.Random,
    text: str = "Bonjour,\n\nVoici un complément d'information : le problème persiste.\n",
) -> EmailMessage:
    message = EmailMessage()
    _head(message, person, subject, rng)
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = " ".join(references)
    message.set_content(text + f"\n{person.name}\n", charset="utf-8")
    return message


def out_of_office(
    person: Person, subject: str, in_reply_to: str, rng: random.Random
) -> EmailMessage:
    """An autoresponder's answer: Auto-Submitted, a localized prefix, the thread headers."""
    prefix = rng.choice(["Réponse automatique : ", "Absent du bureau : ", "Automatic reply: "])
    message = reply(
        person, prefix + subject, in_reply_to, [in_reply_to], rng,
        text="Bonjour,\n\nJe suis absent(e) jusqu'au 14 décembre, sans accès à ma messagerie.\n",
    )  # fmt: skip
    message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    return message


def raw(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=email.policy.SMTP)


def bounce(rng: random.Random) -> bytes:
    """A delivery report from a remote MTA (null envelope sender)."""
    boundary = f"b{rng.getrandbits(32):x}"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.{rng.choice(['example.net', 'example.org'])}>\r\n"
        f"To: {SUPPORT}\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <dsn{rng.getrandbits(40):x}@mx.example.net>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.net\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\n"
        f"Action: failed\r\nStatus: 5.1.1\r\n--{boundary}--\r\n"
    ).encode()


def malformed(message: EmailMessage, kind: int, rng: random.Random) -> bytes:
    """Ten kinds of damage seen in real mail; each still must become a ticket."""
    data = raw(message)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if kind == 0:  # a stray line inside the header block
        lines.insert(1, b"this line is not a header")
        return b"\r\n".join(lines) + b"\r\n\r\n" + body
    if kind == 1:  # no blank line before the body
        return head + b"\r\n" + body
    if kind == 2:  # broken base64
        return (
            head.replace(b"quoted-printable", b"base64")
            + b"\r\n\r\n"
            + b"SGVsbG8g!!d29y*bGQ=\r\n==="
        )
    if kind == 3:  # a multipart cut short (no closing boundary)
        return data[: int(len(data) * 0.8)]
    if kind == 4:  # NUL bytes in the body
        return head + b"\r\n\r\n" + body.replace(b"\r\n", b"\x00\r\n", 3)
    if kind == 5:  # raw 8-bit header, no encoded-word
        return head + b"\r\nX-Comment: r\xe9sum\xe9 \xe0 relire\r\n\r\n" + body
    if kind == 6:  # no From header at all
        return (
            b"\r\n".join(h for h in lines if not h.lower().startswith(b"from:"))
            + b"\r\n\r\n"
            + body
        )
    if kind == 7:  # an unknown charset
        return data.replace(b"charset=", b"charset=x-unknown-", 1)
    if kind == 8:  # bare LF line ends
        return data.replace(b"\r\n", b"\n")
    return head + b"\r\nX-Long: " + b"a" * 2000 + b"\r\n\r\n" + body  # an over-long header

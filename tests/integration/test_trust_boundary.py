"""The trust boundary through real SMTP sessions: what an outsider's mail can make guichet send.

Forged-sender spam gets a minimal acknowledgement (no link, nothing of the text) or none;
`+tag` variants of one mailbox share one budget; a list of names is unverified and its
acknowledgement is the same as for an unknown number; pages an unknown sender triggers are
marked and budgeted, a declared contact's never."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10H = datetime(2030, 12, 3, 10, 0, tzinfo=PARIS)
# On-call hours, in the past: the workers' clock is real, so pages are due at once.
SATURDAY_3H = datetime(2026, 11, 21, 3, 0, tzinfo=PARIS)
SPAM_SUBJECT = "Cheap pills https://spam.example/buy now www.pills.example win big prizes today"
SPAM_BODY = (
    "Visit https://spam.example/offer for the best offer of your life.\n"
    "Unsubscribe at http://spam.example/u\n"
)


def run(tmp_path: Path, redis_url: str, relay: str | None, moment: datetime, **overrides):
    settings = stack_settings(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis_url,
        relay,
        **overrides,
    )
    return Stack(settings, clock=lambda: moment).start()


def parsed(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)


def all_text(message: email.message.EmailMessage) -> str:
    """Subject and every text part, decoded, on one line."""
    parts = [message["Subject"]] + [
        p.get_content() for p in message.walk() if p.get_content_maintype() == "text"
    ]
    return " ".join(" ".join(parts).split())


def test_forged_sender_spam_gets_a_minimal_acknowledgement_with_no_link_and_no_text(
    tmp_path, redis_url, sink
):
    stack = run(tmp_path, redis_url, sink.address, TUESDAY_10H)
    try:
        spam = customer_mail(
            sender="victim@example.org", name="", subject=SPAM_SUBJECT, body=SPAM_BODY
        )
        assert send(stack.smtp_address, spam)[0] == 250
        [message] = sink.handler.wait_for(1)
        stack.settle()
        [ticket] = stack.tickets()
    finally:
        stack.stop()
    ack = parsed(message["data"])
    text = all_text(ack)
    assert message["rcpt_tos"] == ["victim@example.org"]
    assert "spam.example" not in text and "pills.example" not in text
    assert "best offer" not in text and "Unsubscribe" not in text
    assert not re.search(r"https?://(?!www\.dri\.fr|www\.produhost\.net)", text)
    plain = " ".join(ack.get_body(("plain",)).get_content().split())
    excerpt = re.search(r'request "(.*?)"', plain).group(1)  # English: the request is English
    assert len(excerpt) <= 80 and excerpt.startswith("Cheap pills")
    assert ticket["sender_trust"] == "unknown"


def test_a_sender_that_fails_dmarc_gets_no_acknowledgement_and_the_ticket_says_why(
    tmp_path, redis_url, sink
):
    stack = run(
        tmp_path, redis_url, sink.address, TUESDAY_10H, trusted_authserv_ids=["mx.dri.example"]
    )
    try:
        forged = customer_mail(
            sender="s.kerbrat@armor-logistique.fr",
            name="Sophie Kerbrat",
            subject=SPAM_SUBJECT,
            body="Client 20481\n" + SPAM_BODY + "\nSophie Kerbrat\n",
            headers={
                "Authentication-Results": "mx.dri.example; spf=fail smtp.mailfrom="
                "armor-logistique.fr; dmarc=fail header.from=armor-logistique.fr"
            },
        )
        assert send(stack.smtp_address, forged)[0] == 250
        stack.settle()
        [row] = stack.tickets()
        detail = stack.ticket(row["number"])
    finally:
        stack.stop()
    assert sink.handler.messages == []
    assert detail["sender_trust"] == "failed"
    [ack] = detail["acknowledgements"]
    assert ack["status"] == "skipped" and ack["skip_reason"] == "sender-failed"
    skipped = next(e for e in detail["trail"] if e["kind"] == "ack-skipped")
    assert "dmarc=fail" in skipped["detail"]["variant"]


def test_ten_tag_variants_of_one_mailbox_share_one_budget(tmp_path, redis_url, sink):
    stack = run(tmp_path, redis_url, sink.address, TUESDAY_10H, ack_rate_limit=2)
    try:
        for n in range(10):
            mail = customer_mail(
                sender=f"Victim+{n}@Example.org",
                name="",
                subject=f"Question {n}",
                body=f"Bonjour, question {n}.\n",
            )
            assert send(stack.smtp_address, mail)[0] == 250
        stack.settle()
        tickets = stack.tickets()
        details = [stack.ticket(t["number"]) for t in tickets]
    finally:
        stack.stop()
    assert len(tickets) == 10
    assert len(sink.handler.messages) == 2  # the budget of one mailbox, not ten
    reasons = sorted(d["acknowledgements"][0]["skip_reason"] or "sent" for d in details)
    assert reasons == ["rate-limited"] * 8 + ["sent"] * 2


SAME_SUBJECT = "Serveur inaccessible"


def names_mail(number: str, names: list[str]):
    lines = "\n".join(f"Nom : {name}" for name in names)
    return customer_mail(
        sender="curious@example.net",
        name="",
        subject=SAME_SUBJECT,
        body=f"Bonjour,\n\nLe serveur ne répond plus.\n\nClient {number}\n{lines}\n",
    )


PER_MESSAGE = ("Message-ID", "Date", "In-Reply-To", "References")


def comparable(data: bytes, ticket: int) -> tuple:
    """What must be byte-identical between two acknowledgements: every header but the
    per-message ones (Message-ID, Date, In-Reply-To, References), and every part's headers and
    decoded content, with the ticket number replaced by "N". MIME boundaries are not compared
    (random per message); everything a reader sees is."""

    def mask(text: str) -> str:
        return re.sub(r'boundary="[^"]*"', "boundary=B", text.replace(str(ticket), "N"))

    message = parsed(data)
    headers = [(k, mask(str(v))) for k, v in message.items() if k not in PER_MESSAGE]
    parts = [
        (
            [(k, mask(str(v))) for k, v in part.items()],
            part.get_content_type(),
            mask(part.get_content()),
        )
        for part in message.walk()
        if not part.is_multipart()
    ]
    return headers, parts


def test_a_list_of_names_is_unverified_and_its_ack_is_the_unknown_numbers_byte_for_byte(
    tmp_path, redis_url
):
    others = [f"Prénom{n} Nom{n}" for n in range(59)]
    mails = {
        "unknown number": names_mail("99999", ["Thomas Guillou"]),
        "wrong name": names_mail("42118", ["Sandrine Abgrall"]),
        "sixty names": names_mail("42118", others[:30] + ["Thomas Guillou"] + others[30:]),
    }
    stack = run(tmp_path, redis_url, None, TUESDAY_10H)  # acknowledgements in the outbox
    try:
        for mail in mails.values():
            assert send(stack.smtp_address, mail)[0] == 250
            stack.settle()  # one at a time: tickets numbered in the order sent
        tickets = sorted(stack.tickets(), key=lambda t: t["number"])
        details = [stack.ticket(t["number"]) for t in tickets]
        outbox = stack.settings.outbox
    finally:
        stack.stop()
    assert [t["identity_status"] for t in tickets] == ["unverified"] * 3
    created = next(e for e in details[2]["trail"] if e["kind"] == "created")
    trail = created["detail"]["trail"]
    assert any(f["rule"] == "too-many-names" for f in trail)
    files = {}
    for detail in details:
        [ack] = detail["acknowledgements"]
        [path] = [p for p in (outbox / "new").iterdir() if ack["message_id"] in p.read_text()]
        files[detail["number"]] = path.read_bytes()
    views = [comparable(data, number) for number, data in files.items()]
    assert views[0] == views[1] == views[2]
    assert "Guillou" not in files[tickets[2]["number"]].decode()


def urgent_mail(sender: str, name: str):
    return customer_mail(
        sender=sender,
        name=name,
        subject="URGENT : serveur de production en panne",
        body="Bonjour,\n\nNotre serveur de production est en panne, tous nos sites sont "
        "inaccessibles.\n\nThomas Guillou\nClient 42118\n",
    )


def test_pages_an_unknown_sender_triggers_are_marked_and_budgeted_a_declared_ones_never(
    tmp_path, redis_url, sink
):
    stack = run(
        tmp_path,
        redis_url,
        sink.address,
        SATURDAY_3H,
        oncall_email="astreinte@dri.example",
        page_unknown_per_account=1,
        page_unknown_total=5,
    )
    try:
        for n in range(2):  # a verified urgent request from a personal mailbox, twice
            mail = urgent_mail(f"thomas.perso{n}@example.net", "Thomas Guillou")
            assert send(stack.smtp_address, mail)[0] == 250
            stack.settle()
        for _ in range(2):  # the declared contact: never limited
            mail = urgent_mail("thomas.guillou@ouest-medias.fr", "Thomas Guillou")
            assert send(stack.smtp_address, mail)[0] == 250
            stack.settle()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(_pages(sink)) < 3:
            time.sleep(0.1)
        time.sleep(1)  # nothing more must arrive
        tickets = sorted(stack.tickets(), key=lambda t: t["number"])
        details = [stack.ticket(t["number"]) for t in tickets]
    finally:
        stack.stop()
    assert [t["identity_status"] for t in tickets] == ["verified"] * 4
    assert [t["sender_trust"] for t in tickets] == ["unknown"] * 2 + ["declared"] * 2
    pages = _pages(sink)
    assert len(pages) == 3, [
        (d["number"], d["urgency"], d["pages"], d["review"], [e["kind"] for e in d["trail"]])
        for d in details
    ]
    assert sum("(sender not verified)" in p["Subject"] for p in pages) == 1
    assert [len(d["pages"]) for d in details] == [1, 0, 1, 1]
    assert "for the support desk" in details[1]["review"]
    assert any(e["kind"] == "page-limited" for e in details[1]["trail"])


def _pages(sink) -> list:
    found = [m for m in sink.handler.messages if m["rcpt_tos"] == ["astreinte@dri.example"]]
    return [parsed(m["data"]) for m in found]


def test_minimal_acknowledgements_also_count_per_domain_and_in_all_full_ones_do_not(redis_url):
    from workers.acks.rate import AckRateLimiter

    limiter = AckRateLimiter(redis_url, 5, 3600, domain_limit=2, global_limit=3)
    assert [limiter.refusal(f"u{n}@a.example", minimal=True) for n in range(3)] == [
        None,
        None,
        "rate-limited:domain",
    ]
    assert limiter.refusal("v@b.example", minimal=True) is None
    assert limiter.refusal("w@c.example", minimal=True) == "rate-limited:global"
    assert limiter.refusal("x@a.example") is None  # a trusted sender's: its mailbox budget only


def test_a_reply_from_an_unknown_sender_that_identifies_the_ticket_gets_no_confirmation(
    tmp_path, redis_url, sink
):
    """A confirmation names the account: to an unknown sender it would tell that the number
    and the name it tried exist. The ticket is still authorised; the skipped row says why."""
    stack = run(tmp_path, redis_url, sink.address, TUESDAY_10H)
    try:
        first = customer_mail(
            sender="jfh.perso@gmail.com", name="", subject="Serveur lent", body="Bonjour.\n"
        )
        assert send(stack.smtp_address, first)[0] == 250
        [ack] = sink.handler.wait_for(1)
        ack = parsed(ack["data"])
        reply = customer_mail(
            sender="jfh.perso@gmail.com",
            name="",
            subject="Re: " + ack["Subject"],
            body="Nom : Jean-François Hervé\nClient 20481\n",
            headers={"In-Reply-To": ack["Message-ID"]},
        )
        assert send(stack.smtp_address, reply)[0] == 250
        stack.settle()
        [ticket] = stack.tickets()
        detail = stack.ticket(ticket["number"])
    finally:
        stack.stop()
    assert len(sink.handler.messages) == 1
    assert detail["authorised"] and detail["identity_status"] == "verified"
    confirmation = next(a for a in detail["acknowledgements"] if a["kind"] == "identified")
    assert confirmation["status"] == "skipped" and confirmation["skip_reason"] == "sender-unknown"


def test_the_same_content_without_an_id_is_a_copy_only_within_the_window(tmp_path, redis_url):
    moment = [TUESDAY_10H]
    settings = stack_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url, None
    )
    stack = Stack(settings, clock=lambda: moment[0]).start()
    alert = customer_mail(
        sender="monitoring@example.net", name="", subject="Disk full", body="/var is full\n"
    )
    del alert["Message-ID"]
    try:
        for hours in (0, 1, 25):  # the alert, its copy an hour later, the same alert next day
            moment[0] = TUESDAY_10H + timedelta(hours=hours)
            assert send(stack.smtp_address, alert)[0] == 250
            stack.settle()
        tickets = sorted(stack.tickets(), key=lambda t: t["number"])
        trails = [stack.ticket(t["number"])["trail"] for t in tickets]
    finally:
        stack.stop()
    assert len(tickets) == 2
    assert [sum(e["kind"] == "duplicate" for e in trail) for trail in trails] == [1, 0]

"""What an acknowledgement says at the moments that matter, in French and English: every time with
its zone (CET or CEST as the date wants), the team actually alerted, "you asked for urgent handling"
only when asked, and the webhook and re-identified variants."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.model import Category, Decision, Identity, Urgency
from workers.acks.context import build_context
from workers.acks.render import CompiledSet, load_sources, templates_dir
from workers.escalation.guidance import guidance_for

PARIS = ZoneInfo("Europe/Paris")
SHIPPED = CompiledSet(load_sources(templates_dir()))
ZONE = {"fr": "heure de Paris", "en": "Paris time"}
TEAMS = {
    "fr": {
        "support": "L'équipe support a été alertée",
        "oncall": "L'équipe d'astreinte a été alertée",
    },
    "en": {"support": "The support team was alerted", "oncall": "The on-call team was alerted"},
}
ASKED = {"fr": "Vous avez demandé un traitement urgent", "en": "You asked for urgent handling"}


def paris(*fields) -> datetime:
    return datetime(*fields, tzinfo=PARIS)


# (name, moment, team alerted at once on a 24/7 contract)
MOMENTS = [
    ("in-hours", paris(2026, 12, 1, 10, 0), "support"),  # Tuesday
    ("lunch-gap", paris(2026, 12, 1, 12, 45), "support"),  # switchboard closed, desk open
    ("18h-19h", paris(2026, 12, 1, 18, 30), "support"),  # switchboard closed, desk open
    ("night", paris(2026, 12, 1, 22, 15), "oncall"),
    ("early-morning", paris(2026, 12, 2, 7, 30), "oncall"),
    ("weekend", paris(2026, 12, 5, 15, 0), "oncall"),  # Saturday
    ("holiday", paris(2026, 12, 25, 10, 0), "oncall"),  # Christmas, a Friday
    ("spring-dst", datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "oncall"),  # 03:30 CEST, Sunday
    ("autumn-dst", datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "oncall"),  # 02:30 CEST, Sunday
]


def decision(language: str, *, urgent: bool, verified: bool = True, signals=None) -> Decision:
    return Decision(
        identity=Identity(
            status="verified" if verified else "unverified",
            client_number="20481",
            contact_name="Jean-François Hervé" if verified else None,
            account_known=True,
        ),
        urgency=Urgency(
            level="urgent" if urgent else "routine",
            requested=urgent,
            eligible=True,
            signals=signals
            if signals is not None
            else (["severity-words:urgent"] if urgent else []),
        ),
        category=Category(),
        language=language,
    )


def render(
    moment: datetime,
    language: str,
    *,
    urgent: bool = True,
    coverage: str = "24/7",
    gti: timedelta = timedelta(hours=1),
    verified: bool = True,
    signals=None,
    made: Decision | None = None,
    subject: str = "Serveur srv-web01 en panne",
    **extra,
):
    """The acknowledgement of a request received at `moment` on this contract, and its context."""
    made = made or decision(language, urgent=urgent, verified=verified, signals=signals)
    guidance = guidance_for(
        moment, urgent=made.urgency.level == "urgent", verified=verified, coverage=coverage, gti=gti
    )
    context = build_context(
        ticket_number=100042,
        tag="[DRI #100042]",
        subject=subject,
        decision=made,
        guidance=guidance,
        received_at=moment,
        **extra,
    )
    return SHIPPED.render(context, language), context


def flat(text: str) -> str:
    return " ".join(text.split())


def untagged_times(text: str, language: str) -> list[str]:
    """Every hh:mm not followed by its zone ("10:00 (heure de Paris)", "08:00–19:00, heure de Paris")."""
    zone = re.escape(ZONE[language])
    shown = re.finditer(r"\d{2}:\d{2}(?:–\d{2}:\d{2})?", text)
    tagged = re.compile(rf"\d{{2}}:\d{{2}}(?:–\d{{2}}:\d{{2}})?(?: \(|, | ){zone}")
    return [m.group() for m in shown if not tagged.match(text, m.start())]


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("name", "moment", "team"), MOMENTS, ids=[m[0] for m in MOMENTS])
@pytest.mark.parametrize("coverage", ["24/7", "business"])
@pytest.mark.parametrize("urgent", [True, False], ids=["urgent", "routine"])
def test_every_time_in_an_acknowledgement_names_its_zone(
    name, moment, team, language, coverage, urgent
):
    ack, _ = render(moment, language, urgent=urgent, coverage=coverage)
    for part in (flat(ack.text), flat(re.sub(r"<[^>]+>", "", ack.html))):
        assert re.search(r"\d{2}:\d{2}", part)
        assert untagged_times(part, language) == []


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(("name", "moment", "team"), MOMENTS, ids=[m[0] for m in MOMENTS])
def test_the_team_alerted_at_once_on_a_24_7_contract_is_the_one_on_duty(
    name, moment, team, language
):
    ack, context = render(moment, language)
    assert context["guidance"]["page_now"] and context["guidance"]["team"] == team
    other = "oncall" if team == "support" else "support"
    for part in (flat(ack.text), flat(html.unescape(ack.html))):
        assert TEAMS[language][team] in part
        assert TEAMS[language][other] not in part


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("name", "moment", "wakes"),
    [
        ("night", paris(2026, 12, 1, 22, 15), "mercredi 2 décembre à 08:00"),
        ("weekend", paris(2026, 12, 5, 15, 0), "lundi 7 décembre à 08:00"),
        ("holiday", paris(2026, 12, 25, 10, 0), "lundi 28 décembre à 08:00"),
    ],
)
def test_off_hours_on_a_business_contract_the_support_team_is_alerted_when_it_opens(
    name, moment, wakes, language
):
    ack, context = render(moment, language, coverage="business", gti=timedelta(hours=4))
    assert not context["guidance"]["page_now"] and context["guidance"]["team"] == "support"
    text = flat(ack.text)
    if language == "fr":
        assert f"l'équipe support sera alertée le {wakes} (heure de Paris)" in text
    else:
        assert "the support team will be alerted on" in text
    assert "astreinte" not in text and "on-call team" not in text


@pytest.mark.parametrize(
    ("moment", "deadline", "zone_offset"),
    [
        # 01:30 CET + 1 h of a 24/7 contract: 03:30 CEST (the clocks jumped at 02:00).
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "dimanche 29 mars à 03:30", "+02:00"),
        # 02:30 CEST + 1 h: 02:30 CET, the hour lived twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "dimanche 25 octobre à 02:30", "+01:00"),
    ],
    ids=["spring-forward", "fall-back"],
)
def test_times_across_a_daylight_saving_change_are_shown_in_the_right_offset(
    moment, deadline, zone_offset
):
    ack, context = render(moment, "fr")
    assert context["guidance"]["gti_deadline"].isoformat().endswith(zone_offset)
    assert f"au plus tard le {deadline} (heure de Paris)" in flat(ack.text)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize(
    ("signals", "asked"),
    [
        (["outage-words:bloquee", "outage-words:erreur 550"], False),
        (["severity-words:bloquant"], False),
        (["severity-words:urgent"], True),
        (["severity-words:au plus vite", "outage-words:panne"], True),
        (["urgent-address:urgent@dri.example"], True),
    ],
    ids=["blocked-mail", "blocking", "urgent", "asap", "urgent-address"],
)
def test_you_asked_for_urgent_handling_is_said_only_when_the_customer_asked(
    signals, asked, language
):
    made = decision(language, urgent=True, signals=signals)
    made.urgency.level, made.urgency.eligible = "routine", False  # a shared-hosting account
    moment = paris(2026, 12, 1, 10, 0)
    ack, context = render(
        moment,
        language,
        coverage="business",
        gti=timedelta(hours=4),
        made=made,
        subject="Messagerie bloquée",
    )
    assert (ASKED[language] in flat(ack.text)) is asked
    assert (ASKED[language] in flat(ack.html)) is asked
    assert context["urgency"]["handling"] == "ineligible"


def test_english_reads_as_a_native_speaker_writes():
    ack, _ = render(paris(2026, 12, 6, 14, 0), "en", urgent=False)
    text = flat(ack.text)
    assert (
        'We received your request "Serveur srv-web01 en panne" on Sunday 6 December at 14:00 (Paris time).'
        in text
    )
    assert "We have received" not in text and "2026 at" not in text


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_webhook_acknowledgement_has_no_re_and_names_the_partners_reference(language):
    ack, _ = render(
        paris(2026, 12, 1, 10, 0), language, urgent=False, channel="webhook", reference="RES-2291"
    )
    assert "Re:" not in ack.subject and ack.subject.startswith("[DRI #100042] ")
    assert "RES-2291" in ack.subject and "RES-2291" in flat(ack.text) and "RES-2291" in ack.html


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_re_identified_request_gets_a_short_confirmation_with_the_guidance_now_due(language):
    ack, context = render(paris(2026, 12, 1, 22, 15), language, ack_kind="identified")
    text = flat(ack.text)
    assert ("désormais identifiée" if language == "fr" else "is now identified") in text
    assert "20481" in text and TEAMS[language]["oncall"] in text
    assert (
        "dès réception de votre réponse" if language == "fr" else "as soon as your reply"
    ) in text
    assert context["guidance"]["gti_deadline"] is not None
    received, _ = render(paris(2026, 12, 1, 22, 15), language)
    assert len(ack.text) < len(received.text)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("urgent", [True, False], ids=["urgent", "routine"])
def test_the_text_part_is_wrapped_at_72_columns_and_says_what_the_html_says(language, urgent):
    ack, _ = render(paris(2026, 12, 1, 12, 45), language, urgent=urgent)
    assert max(len(line) for line in ack.text.splitlines()) <= 72
    html_words = flat(html.unescape(re.sub(r"<[^>]+>", " ", ack.html.split("<main", 1)[1])))
    for sentence in re.split(r"(?<=[.:])\s", flat(ack.text)):
        if "http" in sentence or sentence.startswith("-") or len(sentence) < 25:
            continue
        assert sentence[:25] in html_words, sentence

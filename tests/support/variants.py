"""Deterministic variants of the labelled corpora, and synthetic mails, for decision snapshots.

Everything here is seeded and uses its own word bank (never `config/vocabulary.toml`), so the
same code yields the same inputs whatever the rules and their vocabulary become.
"""

from __future__ import annotations

import random
import textwrap
import unicodedata
import zlib
from dataclasses import replace

from ingest.model import Content

ATTRIBUTION = {
    "fr": "Le lun. 3 mars 2025 à 10:12, Support DRI <support@dri.example> a écrit :",
    "en": "On Mon, Mar 3, 2025 at 10:12 AM, DRI Support <support@dri.example> wrote:",
}
FOLLOW_UPS = [
    "Des nouvelles ?",
    "Any update on this?",
    "Je relance, merci.",
    "Petite relance : le serveur est en panne depuis ce matin, c'est urgent.",
    "Thanks, this is not urgent, just checking.",
    "Bonjour, toujours rien de votre côté ? Ce n'est pas bloquant.",
]
_ENTITIES = {"é": "&eacute;", "è": "&egrave;", "à": "&agrave;", "ç": "&ccedil;", "'": "&#8217;"}


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32("\0".join(map(str, parts)).encode()))


def reply(content: Content, rng: random.Random) -> Content:
    """A routine follow-up above the whole mail, quoted, under a `RE:` subject."""
    quoted = "\n".join("> " + line for line in content.text.split("\n"))
    lang = rng.choice(("fr", "en"))
    text = f"{rng.choice(FOLLOW_UPS)}\n\n{ATTRIBUTION[lang]}\n{quoted}"
    return replace(content, subject="RE: " + content.subject, text=text)


def shouted(content: Content, rng: random.Random) -> Content:
    return replace(content, subject=content.subject.upper(), text=content.text.upper())


def entities(content: Content, rng: random.Random) -> Content:
    """Accents and apostrophes as HTML entities, some spaces non-breaking, curly quotes."""
    text = content.text
    for plain, entity in _ENTITIES.items():
        text = text.replace(plain, entity)
    text = text.replace(" : ", "\u00a0: ").replace(" ?", "\u202f?").replace('"', "\u201c")
    return replace(content, text=text)


def unaccented(content: Content, rng: random.Random) -> Content:
    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    return replace(content, subject=plain(content.subject), text=plain(content.text))


def rewrapped(content: Content, rng: random.Random) -> Content:
    """Paragraphs re-wrapped at another width, as another mail client would."""
    width = rng.randint(28, 72)
    paragraphs = content.text.split("\n\n")
    text = "\n\n".join(textwrap.fill(p, width) if p.strip() else p for p in paragraphs)
    return replace(content, text=text)


def shuffled(content: Content, rng: random.Random) -> Content:
    """Words shuffled inside each line: odd neighbours for every vocabulary entry."""
    lines = []
    for line in content.text.split("\n"):
        words = line.split(" ")
        rng.shuffle(words)
        lines.append(" ".join(words))
    return replace(content, text="\n".join(lines))


def doubled(content: Content, rng: random.Random) -> Content:
    return replace(content, text=content.text + "\n\n" + content.text)


TRANSFORMS = {
    f.__name__: f for f in (reply, shouted, entities, unaccented, rewrapped, shuffled, doubled)
}


def corpus_variants(name: str, content: Content, count: int = 3) -> list[tuple[str, Content]]:
    """`count` transforms of one parsed corpus mail, chosen and run from a seed of its name."""
    rng = _rng("variants", name)
    chosen = rng.sample(sorted(TRANSFORMS), count)
    return [(f"{name}~{t}", TRANSFORMS[t](content, _rng(name, t))) for t in chosen]


# --- synthetic mails from a frozen word bank --------------------------------------------------

GREETINGS = ["Bonjour,", "Hello,", "Bonsoir", "Hi team,", "Madame, Monsieur,", "Dear support,", ""]
SUBJECTS = [
    "URGENT !!!",
    "Site en panne",
    "Question sur la configuration DNS",
    "RE: URGENT - serveur HS",
    "Demande de devis",
    "Website down",
    "[#41736] suivi",
    "TR: coupure messagerie",
    "help: how to add an alias",
    "Problème bloquant",
    "Compte 20481",
    "",
]
SUBJECT_NOUNS = [
    "le site",
    "notre serveur",
    "la messagerie",
    "the website",
    "our server",
    "the mail server",
    "le VPS srv-web01.client.fr",
    "la base de données",
    "the database",
    "le bouton de paiement",
    "Outlook sur mon poste",
    "the DNS zone",
    "la ligne ADSL chez Orange",
    "the fibre link",
]
STATES = [
    "est en panne",
    "est HS depuis ce matin",
    "ne répond plus",
    "is down",
    "is unreachable",
    "ne fonctionne plus",
    "doesn't work",
    "est lent",
    "fonctionne",
    "is working again",
    "est de nouveau accessible",
    "renvoie une erreur 503",
    "returns error 500",
    "a planté",
    "est bloqué",
    "est inaccessible sur mon iPhone",
    "a perdu des données",
    "lost all emails",
]
QUALIFIERS = [
    "c'est urgent",
    "pas urgent",
    "ce n'est pas bloquant",
    "urgent please",
    "no rush",
    "c'est critique",
    "it is not critical",
    "au plus vite svp",
    "ASAP",
    "c'est résolu",
    "sans urgence",
    "pas vraiment urgent",
    "high priority",
    "",
]
CONNECTORS = [". ", ", mais ", " but ", "; ", " ! ", ".\n", " et ", ", however ", "\n\n"]
ASIDES = [
    "Si le serveur tombe en panne, qui appeler ?",
    "What should we do if the site is down?",
    "En cas d'urgence, quel numéro ?",
    "so that we can request urgent interventions if needed",
    "Nous avons besoin du devis en urgence pour notre client.",
    "La panne d'hier est résolue, merci.",
    "Pouvez-vous vérifier si le site est accessible ?",
    "Le problème persiste toujours.",
    "Facture urgente à régler.",
    "The outage of last night is fixed.",
    "Merci de votre aide.",
    "Je vous mets en copie le log :",
    "2025-03-03 10:12:01 mx1 postfix/smtp[31207]: 4F2A: status=deferred (Connection refused)",
]
NUMBERS = [
    "client 20481",
    "compte n° 10234",
    "Account #52817",
    "ref client : 33019",
    "notre numéro client est le 41736",
    "facture 55123",
    "ticket 10042",
    "[DRI #100042]",
    "29200 BREST",
    "tél. 02 98 12 34 56",
    "12 500 €",
    "15000 mails",
    "port 25565",
    "INV-70214",
    "pour notre filiale (client 10234) et nous-mêmes (client 20481)",
    "20481",
]
NAMES = ["Jean-François Hervé", "Sophie Kerbrat", "Yann Le Goff", "Maëlle Le Goff", "HERVÉ Jean"]
CLOSINGS = ["Cordialement,", "Merci,", "Best regards,", "Bien à vous", "Thanks", "--"]


def _sentence(rng: random.Random) -> str:
    parts = [rng.choice(SUBJECT_NOUNS), rng.choice(STATES)]
    if rng.random() < 0.6:
        parts.append(rng.choice(CONNECTORS).strip(" ") + " " + rng.choice(QUALIFIERS))
    if rng.random() < 0.4:
        parts.append(f"({rng.choice(NUMBERS)})")
    return " ".join(p for p in parts if p)


def synthetic(index: int) -> tuple[str, Content]:
    """One synthetic mail: greeting, sentences, asides, numbers, closing, name, history."""
    rng = _rng("synthetic", index)
    lines = [rng.choice(GREETINGS), ""]
    for _ in range(rng.randint(1, 5)):
        lines.append(_sentence(rng) + rng.choice(CONNECTORS).rstrip(" "))
        if rng.random() < 0.35:
            lines.append(rng.choice(ASIDES))
    if rng.random() < 0.5:
        lines.append(rng.choice(NUMBERS))
    name = rng.choice(NAMES)
    lines += ["", rng.choice(CLOSINGS), name]
    if rng.random() < 0.3:
        lines += ["", ATTRIBUTION[rng.choice(("fr", "en"))]]
        lines += ["> " + _sentence(rng) for _ in range(rng.randint(1, 3))]
    content = Content(
        "smtp",
        subject=rng.choice(SUBJECTS),
        text="\n".join(lines),
        from_address="someone@example.org",
        from_name=rng.choice([name, "", "JF", "Support Armor"]),
        envelope_sender="someone@example.org",
        recipients=[rng.choice(["support@dri.example"] * 5 + ["urgent@dri.example"])],
    )
    return f"synthetic-{index:04d}", content

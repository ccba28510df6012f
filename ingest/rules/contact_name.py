"""Find the writer's name and match it against the contacts declared on one account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest import config_files
from ingest.directory import Account, Contact
from ingest.model import Content, Finding
from ingest.reading.normalize import fold, words
from ingest.reading.phrase_scan import phrase_regex
from ingest.reading.text_split import Split

FIELD = "contact_name"


@dataclass(frozen=True)
class Candidate:
    source: str  # "declared" | "name-line" | "signature" | "from" | "introduction"
    text: str


@dataclass(frozen=True)
class NameMatch:
    contact: Contact
    candidate: Candidate


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["contact_name"]


def name_tokens(text: str) -> list[str]:
    """Folded words of a name; accents, case, apostrophes, hyphens and entities do not count."""
    tokens = words(text)
    civilities = set(_vocab()["civilities"])
    while tokens and tokens[0] in civilities and len(tokens) > 1:
        tokens = tokens[1:]
    return tokens


def _spellings(tokens: list[str]) -> set[str]:
    """A declared name glued together, given-name first or surname first, at every cut."""
    if not tokens:
        return set()
    cuts = range(1, len(tokens))
    glued = {"".join(tokens[i:] + tokens[:i]) for i in cuts}
    return glued | {"".join(tokens)}


def matches(candidate: str, contact: Contact) -> bool:
    """True when the candidate holds the contact's complete name, in either order."""
    wanted = _spellings(name_tokens(contact.name))
    longest = max(map(len, wanted), default=0)
    tokens = name_tokens(candidate)
    for i in range(len(tokens)):
        glued = ""
        for j in range(i, len(tokens)):  # no slice: a copy per start would be quadratic
            glued += tokens[j]
            if len(glued) > longest:  # words are never empty: longer from here on
                break
            if glued in wanted:
                return True
    return False


# --- where names are found: each source is a small named rule --------------------------------


class DeclaredName:
    name = "declared"
    description = "the contact_name field a partner system declared"

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        value = content.declared.get("contact_name")
        return [Candidate(self.name, str(value))] if value else []


class NameLine:
    name = "name-line"
    description = 'an explicit "Nom :" / "Name:" / "Contact :" line'

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        labels = {fold(label) for label in _vocab()["name_line_labels"]}
        found = []
        for line in (split.new_text + "\n" + split.signature).split("\n"):
            label, colon, value = line.partition(":")
            if colon and fold(label).strip(" *-_") in labels and value.strip():
                found.append(Candidate(self.name, value.strip()))
        return found


class SignatureLines:
    name = "signature"
    description = "the first lines of the signature, or the short last lines of the text"

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        v = _vocab()
        lines = [ln.strip() for ln in split.signature.split("\n") if ln.strip()]
        found = lines[: v["signature_lines"]]
        tail = [ln.strip() for ln in split.new_text.split("\n") if ln.strip()][
            -v["trailing_lines"] :
        ]
        found += [ln for ln in tail if len(ln.split()) <= v["trailing_max_words"]]
        return [Candidate(self.name, line) for line in found]


class NameShapedLine:
    name = "name-line-alone"
    description = "a line (or its first part before | - ,) near the end holding only a name"

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        v = _vocab()
        lines = [ln.strip(" \t,;.-") for ln in split.new_text.split("\n") if ln.strip()]
        lines = lines[-v["name_shape_lines"] :] + split.signature.split("\n")
        parts = [p.strip() for line in lines for p in re.split(r"\s[|/–-]\s|[|,]", line)]
        return [Candidate(self.name, part) for part in parts if self._name_shaped(part, v)]

    @staticmethod
    def _name_shaped(line: str, v: dict) -> bool:
        """2 to 5 words, capitalised or in capitals, with name particles: "Thérèse LE BRUN"."""
        tokens = line.split()
        particles = set(v["name_particles"])
        capitalised = [
            t for t in tokens if re.fullmatch(r"[^\W\d_][^\W\d_'.-]*(?:['.-][^\W\d_]*)*", t)
        ]
        names = [t for t in capitalised if t[0].isupper()]
        named = set(names)
        others = [t for t in tokens if t not in named]
        return 2 <= len(names) <= 5 and all(fold(t) in particles for t in others)


class FromName:
    name = "from"
    description = "the display name of the From header (never the address's local part)"

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        name = re.sub(r"\(.*?\)|[\"<>]|\bvia\b.*$", " ", content.from_name or "").strip()
        return [Candidate(self.name, name)] if name and "@" not in name else []


class Introduction:
    name = "introduction"
    description = 'the writer introduces themself ("je suis Jean Dupont", "my name is …")'

    def candidates(self, content: Content, split: Split) -> list[Candidate]:
        regex = phrase_regex(_vocab()["introductions"])
        found = []
        for line in split.new_text.split("\n"):
            hit = regex.search(fold(line)) if regex else None
            if hit:
                found.append(Candidate(self.name, fold(line)[hit.end() :]))
        return found


SOURCES = (
    DeclaredName(),
    NameLine(),
    SignatureLines(),
    NameShapedLine(),
    FromName(),
    Introduction(),
)


def candidates(content: Content, split: Split) -> list[Candidate]:
    """Every name candidate of a request, in the order the sources are trusted."""
    return [c for source in SOURCES for c in source.candidates(content, split)]


# Sources where the writer states a name as theirs; the others are lines read for one.
STATED = frozenset({"declared", "name-line", "from"})


def bounded(found: list[Candidate]) -> tuple[list[Candidate], str | None]:
    """The candidates worth matching, or why the mail offers too many names to match any.

    The bounds (config/vocabulary.toml) keep one mail from trying a list of names against an
    account: a stated name of more than `max_name_words` words is a list; more than
    `max_names_offered` distinct stated names, or more than `max_name_lines` distinct lines read
    for a name, is a list too. A longer line read for a name is a sentence and is passed over."""
    v = _vocab()
    limit = v["max_name_words"]
    kept, stated, lines = [], set(), set()
    for candidate in found:
        tokens = name_tokens(candidate.text)
        if candidate.source == "introduction" and len(tokens) > limit:
            tokens = tokens[:limit]  # the rest of the sentence after "je suis"
            candidate = Candidate(candidate.source, " ".join(tokens))
        if len(tokens) > limit:
            if candidate.source in STATED:
                return (
                    [],
                    f"the {candidate.source} name holds {len(tokens)} words (at most {limit})",
                )
            continue
        (stated if candidate.source in STATED else lines).add(frozenset(tokens))
        kept.append(candidate)
    if len(stated) > v["max_names_offered"]:
        return [], f"{len(stated)} names stated (at most {v['max_names_offered']})"
    if len(lines) > v["max_name_lines"]:
        return [], f"{len(lines)} lines offer a name (at most {v['max_name_lines']})"
    return kept, None


def _conflict(found: list[Candidate], account: Account) -> str | None:
    """Stated names that match different contacts: the writer cannot be all of them."""
    named = {
        contact.name
        for candidate in found
        if candidate.source in STATED
        for contact in account.contacts
        if matches(candidate.text, contact)
    }
    return f"stated names match {len(named)} different contacts" if len(named) > 1 else None


def match_contact(
    content: Content, split: Split, account: Account | None
) -> tuple[NameMatch | None, list[Finding]]:
    """The first candidate that names a contact declared on this account, with its findings."""
    offered = candidates(content, split)
    found, refused = bounded(offered)
    if refused:
        return None, [Finding("too-many-names", FIELD, None, f"unverified: {refused}")]
    if account is None:
        why = f"{len(offered)} name candidate(s), but no known account to match them against"
        return None, [Finding("no-account", FIELD, None, why)]
    conflict = _conflict(found, account)
    if conflict:
        return None, [Finding("conflicting-names", FIELD, None, f"unverified: {conflict}")]
    for candidate in found:
        contact = next((c for c in account.contacts if matches(candidate.text, c)), None)
        if contact:
            why = f"{candidate.source} names {contact.name!r}, declared on {account.client_number}"
            return NameMatch(contact, candidate), [
                Finding(candidate.source, FIELD, contact.name, why)
            ]
    tried = ", ".join(sorted({c.source for c in found})) or "none"
    why = f"no candidate ({tried}) names a contact declared on this account"
    return None, [Finding("no-declared-contact", FIELD, None, why)]

"""Sort a request by service, server, web site, ISP and connection, and say what is missing."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import config_files
from ingest.model import Category, Content, Finding
from ingest.reading.normalize import fold, unescape
from ingest.reading.phrase_scan import any_group, find_phrases, has_phrase, mask, phrase_regex
from ingest.reading.text_split import split_text

_URL = re.compile(
    r"https?://[^\s<>\"'\])]+|(?<![\w@/.-])www\.[\w-]+(?:\.[\w-]+)+[^\s<>\"'\])]*", re.I
)
# Possessive runs (`*+`): what follows each run (a dot, a digit, an end) is a character the
# run cannot hold, so giving characters back never helps a match; the same matches, without
# trying every shorter run of every word.
_HOST = re.compile(r"(?<![\w@./:-])((?:[a-z0-9][a-z0-9-]*+\.)+[a-z]{2,})(?![\w-])", re.I)
_BARE = re.compile(r"(?<![\w@./:-])([a-z][a-z-]*+\d[\w-]*+)(?![\w@.-])", re.I)


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["category"]


def _add(items: list[str], value: str) -> None:
    if value and value not in items:
        items.append(value)


class Services:
    name = "service"
    description = "Web, Mail, DNS, database from the procedure's vocabulary"

    def apply(self, content: Content, text: str, category: Category) -> None:
        folded = mask(fold(text), _vocab()["service_false_positives"])
        declared = fold(str(content.declared.get("service") or ""))
        services = _vocab()["services"]
        if not (declared or any_group(folded, services)):
            return
        for service, terms in services.items():
            if has_phrase(folded, terms) or declared == service or has_phrase(declared, terms):
                _add(category.services, service)


@lru_cache(maxsize=1)
def _named_scan() -> tuple[re.Pattern, frozenset[str]]:
    """ "serveur XYZ": the regex of the server words and the names that are not servers."""
    v = _vocab()
    words = "|".join(map(re.escape, v["server_words"]))
    regex = re.compile(rf"(?i)\b(?:{words})\s+[\"«“']?\s*([A-Za-z0-9][\w.-]*[\w])")
    return regex, frozenset(v["server_name_stopwords"]) | frozenset(v["not_server_names"])


class Servers:
    name = "server"
    description = 'host names (srv-web01.client.fr, ns1…), bare names (vps1234), "serveur XYZ"'

    def apply(self, content: Content, text: str, category: Category) -> None:
        _add(category.servers, str(content.declared.get("server") or "").strip())
        for name in self._hosts(text) + self._named(text):
            _add(category.servers, name.lower())

    def _looks_like_server(self, label: str) -> bool:
        label, v = label.lower(), _vocab()
        if label in v["not_server_names"]:
            return False
        for prefix in v["server_prefixes"]:
            rest = label[len(prefix) :]
            if label.startswith(prefix) and (
                not rest or rest[0] in "-_0123456789" or any(c.isdigit() for c in rest)
            ):
                return True
        return False

    def _hosts(self, text: str) -> list[str]:
        hosts = [h for h in _HOST.findall(text) if self._looks_like_server(h.split(".")[0])]
        return hosts + [b for b in _BARE.findall(text) if self._looks_like_server(b)]

    def _named(self, text: str) -> list[str]:
        regex, stop = _named_scan()
        return [n for n in regex.findall(text) if fold(n) not in stop and self._distinctive(n)]

    @staticmethod
    def _distinctive(name: str) -> bool:
        return bool(re.search(r"[\d._-]", name) or (name.isupper() and len(name) >= 2))


class Urls:
    name = "url"
    description = "http(s) addresses and bare www. names, not our own site"

    def apply(self, content: Content, text: str, category: Category) -> None:
        found = [str(content.declared.get("url") or "")] + _URL.findall(text)
        own = tuple(_vocab()["own_url_hosts"])
        for url in (u.rstrip(".,;:!?»") for u in found):
            host = re.sub(r"^https?://", "", url, flags=re.I).split("/")[0].split(":")[0].lower()
            if host and not host.endswith(own):
                _add(category.urls, url)


class Isp:
    name = "isp"
    description = "Orange, Free, SFR, Bouygues, Completel…; ambiguous names need an access word"

    def apply(self, content: Content, text: str, category: Category) -> None:
        folded, context = fold(text), _vocab()["isp_context"]
        if not any_group(folded, _vocab()["isp"]):
            return
        for isp, terms in _vocab()["isp"].items():
            for hit in find_phrases(folded, terms):
                if hit.group() not in context["ambiguous_isp"] or self._near_access(folded, hit):
                    _add(category.isp, isp)

    @staticmethod
    def _near_access(folded: str, hit: re.Match) -> bool:
        sentence = (
            re.split(r"[.!?\n]", folded[: hit.start()])[-1]
            + re.split(r"[.!?\n]", folded[hit.end() :])[0]
        )
        return has_phrase(sentence, _vocab()["isp_context"]["access_words"])


class Connection:
    name = "connection"
    description = "ADSL, SDSL, VDSL, fibre, Ethernet, 4G/5G…"

    def apply(self, content: Content, text: str, category: Category) -> None:
        folded = fold(text)
        if not any_group(folded, _vocab()["connection"]):
            return
        for kind, terms in _vocab()["connection"].items():
            if has_phrase(folded, terms):
                _add(category.connection, kind)


class Missing:
    name = "missing"
    description = "what the acknowledgement asks for: service, then server, then URL"

    def apply(self, content: Content, text: str, category: Category) -> None:
        rules, wanted = _vocab()["missing"], []
        if not category.services:
            wanted += rules["no_service"]
        for service in category.services:
            wanted += rules.get(service, [])
        if has_phrase(fold(text), _vocab()["server_implied"]):
            wanted.append("server")
        have = {"server": category.servers, "url": category.urls, "service": category.services}
        order = ["service", "server", "url"]
        missing = {w for w in wanted if not have.get(w)}
        category.missing = sorted(missing, key=lambda w: (order + [w]).index(w))


RULES = (Services(), Servers(), Urls(), Isp(), Connection(), Missing())


def categorize(content: Content) -> tuple[Category, list[Finding]]:
    """Category fields from the customer's subject and new text (forwarded text as a fallback)."""
    split = split_text(content.text)
    text = unescape((content.subject or "") + "\n" + split.new_text)
    if split.forwarded and not phrase_regex(sum(_vocab()["services"].values(), [])).search(
        fold(text)
    ):
        text += "\n" + unescape(split.forwarded)
    category = Category()
    for rule in RULES:
        rule.apply(content, text, category)
    fields = ("services", "servers", "urls", "isp", "connection", "missing")
    findings = [
        Finding(r.name, f, getattr(category, f), r.description)
        for r, f in zip(RULES, fields, strict=True)
    ]
    return category, findings

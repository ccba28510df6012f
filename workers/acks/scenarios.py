"""The scenario matrix of acknowledgements: synthetic requests built through `build_context`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from ingest.model import Category, Decision, Identity, Urgency
from workers.acks.context import IDENTITY_ITEMS, build_context
from workers.acks.render import PARTS, CompiledSet, clean_subject, load_sources, templates_dir
from workers.escalation.calendar import support_open
from workers.escalation.guidance import guidance_for
from workers.escalation.policy import Policy, default_policy

IDENTITIES = ("verified", "unverified", "minimal")  # minimal: a sender of unknown trust
KINDS = ("routine", "urgent", "ineligible")
MINIMAL_KINDS = ("routine", "urgent")  # a minimal acknowledgement never tells eligibility
HOURS = ("inhours", "offhours")

# Sample request. The subject probes the rules: template syntax and HTML must stay literal.
SAMPLE_TICKET = 100042
SAMPLE_TAG = "[DRI #100042]"
SAMPLE_SUBJECT = 'Site en panne <b data-probe="1">{{ 7*7 }}</b>'
# A minimal acknowledgement's subject excerpt drops links: this one must not come out.
LINK_PROBE = "https://probe.example/offer"
SAMPLE_CONTACT = "Camille Martin"
SAMPLE_NUMBER, UNKNOWN_NUMBER = "20481", "99999"
SAMPLE_GTI = timedelta(hours=4)
SAMPLE_MISSING = ["service", "server", "url"]
# Searches for a matching instant start here (a Tuesday morning, a Friday evening) and
# step forward, so the matrix follows whatever hours config/policy.toml sets.
SEARCH_FROM = {"inhours": (2026, 11, 24, 10, 0), "offhours": (2026, 11, 27, 21, 0)}
SEARCH_STEP = timedelta(minutes=10)
SEARCH_STEPS = 7 * 24 * 6


@dataclass(frozen=True)
class Spec:
    """One cell of the matrix, e.g. verified-urgent-offhours-gap."""

    verified: bool
    kind: str
    hours: str
    gap: bool = False
    variant: str = "full"  # "minimal": the acknowledgement to a sender of unknown trust

    @property
    def name(self) -> str:
        who = "minimal" if self.variant == "minimal" else IDENTITIES[0 if self.verified else 1]
        parts = [who, self.kind, self.hours]
        return "-".join(parts + (["gap"] if self.gap else []))


@dataclass
class Case:
    """A rendered-to-be scenario: its matrix cell, contract and context (plus its twin)."""

    spec: Spec
    coverage: str
    language: str
    context: dict
    twin: dict | None = field(default=None, repr=False)  # same request, other account state

    @property
    def label(self) -> str:
        return f"{self.spec.name}, {self.language}, coverage {self.coverage}"


def parse_scenario(name: str) -> Spec:
    """`verified-urgent-offhours` (optionally `-gap`) → Spec; a bad name lists the valid ones."""
    parts = name.strip().lower().split("-")
    gap = parts[-1:] == ["gap"]
    parts = parts[:-1] if gap else parts
    if (
        len(parts) != 3
        or parts[0] not in IDENTITIES
        or parts[1] not in KINDS
        or parts[2] not in HOURS
        or (parts[0] == "minimal" and (gap or parts[1] not in MINIMAL_KINDS))
    ):
        valid = ", ".join(s.name for s in all_specs())
        raise ValueError(f"unknown scenario {name!r}; valid scenarios: {valid}")
    variant = "minimal" if parts[0] == "minimal" else "full"
    return Spec(parts[0] == "verified", parts[1], parts[2], gap, variant)


def scenario_names() -> list[str]:
    """Every scenario `check` renders and `preview` accepts."""
    return [spec.name for spec in all_specs()]


def all_specs() -> list[Spec]:
    specs = [Spec(v, k, h) for v in (True, False) for k in KINDS for h in HOURS]
    specs += [Spec(True, "urgent", h, gap=True) for h in HOURS]
    return specs + [Spec(False, k, h, variant="minimal") for k in MINIMAL_KINDS for h in HOURS]


def sample_decision(spec: Spec, language: str, *, known: bool = True, missing=()) -> Decision:
    """The decision intake would make; `known=False` is an unverified unknown number."""
    identity = Identity(
        status="verified" if spec.verified else "unverified",
        client_number=SAMPLE_NUMBER if known else UNKNOWN_NUMBER,
        contact_name=SAMPLE_CONTACT if spec.verified else None,
        account_known=known,
        missing=[] if spec.verified else list(IDENTITY_ITEMS),
    )
    eligible = (spec.kind != "ineligible") if known else None
    asked = spec.kind != "routine"
    urgency = Urgency(
        level="urgent" if spec.kind == "urgent" and eligible else "routine",
        requested=asked,
        eligible=eligible,
        signals=["severity-words:urgent"] if asked else [],  # asked in so many words
    )
    return Decision(identity, urgency, Category(missing=list(missing)), language=language)


def sample_guidance(spec: Spec, at: datetime, coverage: str, policy: Policy):
    urgent = spec.kind == "urgent"
    return guidance_for(
        at, urgent=urgent, verified=spec.verified, coverage=coverage, gti=SAMPLE_GTI, policy=policy
    )


def _fits(spec: Spec, guidance) -> bool:
    in_gap = bool(guidance.phones_from and guidance.phones_from > guidance.gti_deadline)
    return in_gap == spec.gap


def find_instant(spec: Spec, coverage: str, policy: Policy) -> datetime | None:
    """The first sample instant at or after the search start that lands in `spec`.

    Instants on the wrong side of the support hours are passed over without working out
    their guidance, and so are, at once, the instants before a contract's cover starts when
    that cover is the support desk's: they all share the deadline of its opening."""
    start = at = datetime(*SEARCH_FROM[spec.hours], tzinfo=policy.timezone)
    end = start + SEARCH_STEP * SEARCH_STEPS
    same_as_desk = policy.coverage.get(coverage) == policy.support_schedule
    while at < end:
        if support_open(at, policy=policy) == (spec.hours == "inhours"):
            guidance = sample_guidance(spec, at, coverage, policy)
            if _fits(spec, guidance):
                return at
            if same_as_desk and not guidance.covered_now:
                steps = -(-(guidance.work_starts_at - start) // SEARCH_STEP)  # ceiling
                at = max(at + SEARCH_STEP, start + steps * SEARCH_STEP)
                continue
        at += SEARCH_STEP
    return None


def make_context(
    spec: Spec, at: datetime, coverage: str, language: str, policy: Policy, **kw
) -> dict:
    """A context built exactly as the worker builds it, for a synthetic request."""
    minimal = spec.variant == "minimal"
    return build_context(
        ticket_number=SAMPLE_TICKET,
        tag=SAMPLE_TAG,
        subject=f"{SAMPLE_SUBJECT} {LINK_PROBE}" if minimal else SAMPLE_SUBJECT,
        decision=sample_decision(spec, language, **kw),
        guidance=sample_guidance(spec, at, coverage, policy),
        received_at=at,
        policy=policy,
        variant=spec.variant,
    )


def coverages_for(spec: Spec, policy: Policy) -> list[str]:
    """Every contract coverage where it changes the guidance, else the first one."""
    names = list(policy.coverage)
    return names if spec.verified and spec.kind == "urgent" else names[:1]


def cases_for(spec: Spec, languages, policy: Policy) -> list[Case]:
    cases = []
    for coverage in coverages_for(spec, policy):
        at = find_instant(spec, coverage, policy)
        if at is None:
            continue  # this policy has no such moment (e.g. no gap between windows)
        missing = SAMPLE_MISSING if spec.hours == "inhours" else []
        for lang in languages:
            ctx = make_context(spec, at, coverage, lang, policy, missing=missing)
            twin = None
            if spec.variant == "minimal":  # the same text whether the sender is identified or not
                twin = make_context(replace(spec, verified=True), at, coverage, lang, policy)
            elif not spec.verified:
                twin = make_context(spec, at, coverage, lang, policy, known=False, missing=missing)
            cases.append(Case(spec, coverage, lang, ctx, twin))
    return cases


@lru_cache(maxsize=8)
def _cached(languages: tuple[str, ...]) -> tuple[Case, ...]:
    policy = default_policy()
    return tuple(c for spec in all_specs() for c in cases_for(spec, languages, policy))


def scenario_cases(languages, policy: Policy | None = None) -> list[Case]:
    """The whole matrix for these languages (cached for the default policy)."""
    if policy is None:
        return list(_cached(tuple(languages)))
    return [c for spec in all_specs() for c in cases_for(spec, languages, policy)]


def preview_context(
    spec: Spec,
    language: str,
    at: datetime | None = None,
    coverage: str | None = None,
    policy: Policy | None = None,
) -> dict:
    """The context of one scenario, at `at` (naive = policy time zone) or at a matching instant."""
    policy = policy or default_policy()
    coverage = coverage or coverages_for(spec, policy)[0]
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        at = at.replace(tzinfo=policy.timezone)
    at = at or find_instant(spec, coverage, policy)
    if at is None:
        raise ValueError(f"no moment matches {spec.name} with coverage {coverage!r} in this policy")
    missing = SAMPLE_MISSING if spec.hours == "inhours" else []
    return make_context(spec, at, coverage, language, policy, missing=missing)


ROLES = {"subject": "subject line", "txt": "plain-text body", "html": "HTML body"}


@dataclass(frozen=True)
class TemplateFile:
    """One file of the set: `ack.fr.txt.j2` is language "fr", part "txt"; partials have none."""

    name: str
    language: str | None
    part: str | None

    def __str__(self) -> str:
        if self.part:
            return f"{self.name:24} acknowledgement {ROLES[self.part]} ({self.language})"
        kind = "date names and layouts" if self.name.endswith(".toml") else "partial / macros"
        return f"{self.name:24} {kind}"


def list_templates(directory: Path | str | None = None) -> list[TemplateFile]:
    """The files of the set, acknowledgement templates first, then partials and data."""
    files = []
    for name in load_sources(Path(directory or templates_dir())):
        match = re.fullmatch(r"ack\.(\w+)\.(subject|txt|html)\.j2", name)
        files.append(TemplateFile(name, *(match.groups() if match else (None, None))))
    return sorted(files, key=lambda f: (f.language is None, f.name))


def preview_parts(
    name_or_lang: str, scenario: str, at=None, *, directory=None, coverage=None
) -> dict:
    """One scenario rendered from the files on disk (not the live set), as {part: text}.

    `name_or_lang` is "fr", "ack.fr" or one file ("ack.fr.html"); `at` is a datetime or
    an ISO string ("2026-11-27T21:00", policy time zone when naive).
    """
    parts = name_or_lang.removeprefix("ack.").removesuffix(".j2").split(".")
    language, wanted = parts[0], parts[1:] or list(PARTS)
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    context = preview_context(parse_scenario(scenario), language, moment, coverage)
    compiled = CompiledSet(load_sources(Path(directory or templates_dir())))
    out = {part: compiled.render_part(context, language, part) for part in wanted}
    if "subject" in out:
        out["subject"] = clean_subject(out["subject"])
    return out


def preview(name_or_lang: str, scenario: str, at=None, *, directory=None, coverage=None) -> str:
    """`preview_parts` as one printable text, each part under a `==== part ====` rule."""
    out = preview_parts(name_or_lang, scenario, at, directory=directory, coverage=coverage)
    return "\n".join(f"==== {part} ====\n{text.rstrip()}\n" for part, text in out.items())

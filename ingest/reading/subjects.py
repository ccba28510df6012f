"""Subject lines without the reply and forward prefixes that mail programs add in every language."""

from __future__ import annotations

import re

# Re (all), Fwd/Fw (en), TR (fr), AW/WG (de), SV (sv, da, no), VS (fi), Antw (nl), Odp (pl),
# RIF/R (it, only with a colon and not as a word), Réf/Ref (fr), Rép (fr), Enc/RES (pt).
# Each may carry a counter ("Re[2]:", "Re(3):", "Re^2:") and a space before the colon ("RE :").
_WORDS = r"re|fwd?|tr|aw|wg|sv|vs|antw|odp|rif|r[ée]f\.?|r[ée]p|enc|res"
_PREFIX = re.compile(
    rf"\A[\s\u00a0]*(?:(?:{_WORDS})[\s\u00a0]*(?:\[\d{{1,4}}\]|\(\d{{1,4}}\)|\^\d{{1,4}})?"
    rf"[\s\u00a0]*[:：][\s\u00a0]*)+",
    re.IGNORECASE,
)
# "[Fwd: original subject]": the forward of old Netscape/Thunderbird versions.
_BRACKETED = re.compile(
    rf"\A\[[\s\u00a0]*(?:{_WORDS})[\s\u00a0]*:(.*)\]\Z", re.IGNORECASE | re.DOTALL
)
MAX_ROUNDS = 8  # prefixes and bracketed forms nested deeper than this are left as written


def strip_reply_prefixes(subject: str) -> str:
    """ "RE : Fwd: TR: [Fwd: Panne]" → "Panne"; a subject without prefixes comes back trimmed."""
    text = " ".join(subject.split())
    for _ in range(MAX_ROUNDS):
        stripped = _PREFIX.sub("", text, count=1).strip()
        bracketed = _BRACKETED.match(stripped)
        if bracketed:
            stripped = bracketed.group(1).strip()
        if stripped == text:
            return text
        text = stripped
    return text

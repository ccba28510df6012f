"""The only customer text a minimal acknowledgement repeats: a short, clean subject excerpt."""

from __future__ import annotations

import re

from workers.acks.render import clean_subject

# Anything a mail client could turn into a link: a scheme, "www.", an address, a host name
# (a dot between letters, digits or hyphens, with or without a path).
_LINKISH = re.compile(
    r"\S*(?:://|www\.|@)\S*"  # scheme, www., e-mail address
    r"|\S*[\w-]\.[a-z][\w-]*\S*",  # host name: label.label, perhaps with a path
    re.IGNORECASE,
)
# A first, generous cut: the excerpt is read from a bounded prefix, however long the subject.
_READ_AT_MOST = 1000


def subject_excerpt(subject: str, limit: int) -> str:
    """At most `limit` characters of the subject, on one line, with no URL, host or address."""
    line = clean_subject(subject[:_READ_AT_MOST], limit=_READ_AT_MOST)
    return clean_subject(_LINKISH.sub(" ", line), limit=limit)

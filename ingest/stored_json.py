"""The JSON the journal stores for a request (its decision, what the edge read), encoded where
the request was analysed.

The listener used to turn each analysis it got back from a parser process into plain data and
then into JSON on its own thread, for rows it never reads: a tenth of its CPU per mail, on the
one process every mail goes through. A parser process now encodes both columns itself and hands
back the text, and the content's objects no longer cross the pipe at all. The store writes a
`JSONText` as it is (`json_column_text`, the engine's serializer): the bytes stored are those
the engine would have written from the objects, the content's with its non-ASCII characters
left as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ingest.model import Content, Decision, field_names


class JSONText(str):
    """A value already encoded as JSON: a JSON column stores it as it is."""

    __slots__ = ()


def json_column_text(value) -> str:
    """The JSON columns' serializer: encoded text as it is, anything else by `json.dumps`
    (what the engine uses when none is given)."""
    return value if isinstance(value, JSONText) else json.dumps(value)


@dataclass(frozen=True)
class StoredJSON:
    """What the journal stores of an analysis: the decision's JSON, and the content's, None
    when the content cannot be stored (`content_json`)."""

    decision: JSONText
    content: JSONText | None


def _fields(value) -> dict:
    """`json.dumps`'s hook for what it cannot encode itself: a dataclass becomes the dict of
    its fields, as `ingest.model.plain` makes it; anything else it cannot encode is refused,
    as it is when `plain`'s output holds it."""
    names = field_names(value)
    if names is None:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return {name: getattr(value, name) for name in names}


def _json(value, ensure_ascii: bool) -> str:
    """`json.dumps(plain(value))`, the same text, without building the plain copy first: the
    encoder walks the lists and strings itself and asks `_fields` for each dataclass."""
    return json.dumps(value, default=_fields, ensure_ascii=ensure_ascii)


def decision_json(decision: Decision) -> JSONText:
    """`decision.to_dict()` as JSON (`received_at` written in ISO 8601)."""
    data = _fields(decision)
    if decision.received_at is not None:
        data["received_at"] = decision.received_at.isoformat()
    return JSONText(_json(data, ensure_ascii=True))


def content_json(content: Content | None) -> JSONText | None:
    """The content as JSON; None when there is none, or when it holds text a JSON column may
    refuse (NUL, which PostgreSQL's text refuses, or a lone surrogate, which no UTF-8 can
    carry): the worker then reads the raw request again."""
    if content is None:
        return None
    try:
        text = _json(content, ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate fails here
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    return None if "\\u0000" in text else JSONText(text)


def stored_json(decision: Decision, content: Content | None) -> StoredJSON:
    return StoredJSON(decision_json(decision), content_json(content))

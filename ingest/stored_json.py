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

from ingest.model import Content, Decision, content_to_dict


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


def decision_json(decision: Decision) -> JSONText:
    return JSONText(json.dumps(decision.to_dict()))


def content_json(content: Content | None) -> JSONText | None:
    """The content as JSON; None when there is none, or when it holds text a JSON column may
    refuse (NUL, which PostgreSQL's text refuses, or a lone surrogate, which no UTF-8 can
    carry): the worker then reads the raw request again."""
    if content is None:
        return None
    try:
        text = json.dumps(content_to_dict(content), ensure_ascii=False)
        text.encode("utf-8")  # a lone surrogate fails here
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    return None if "\\u0000" in text else JSONText(text)


def stored_json(decision: Decision, content: Content | None) -> StoredJSON:
    return StoredJSON(decision_json(decision), content_json(content))

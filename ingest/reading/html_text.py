"""HTML mail bodies to readable plain text that keeps links, paragraphs, lists and tables."""

from __future__ import annotations

import html
import re

import html2text

# Above this size html2text (pure Python) takes seconds; a crude tag strip is linear.
MAX_HTML_CHARS = 2_000_000

# html2text escapes markdown characters with backslashes. Swapping the customer's own
# backslashes for a private-use character first lets us drop every escape it adds and
# still give back Windows paths (C:\Users, \\serveur\partage) exactly as written.
_BACKSLASH_STANDIN = "\ufdd0"
_ESCAPE = re.compile(r"\\(?=[\\`*_{}\[\]()#+\-.!<>|])")
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_DROPPED_ELEMENTS = re.compile(
    r"<(script|style|head|title)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL
)
_LINE_BREAKING_TAGS = re.compile(
    r"<\s*/?\s*(br|p|div|li|tr|h\d|table|ul|ol|blockquote)\b[^>]*>", re.IGNORECASE
)
_CELL_END = re.compile(r"</t[dh]\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def html_to_text(markup: str) -> str:
    """Readable text of an HTML body: links as text (URL), entities decoded, no scripts."""
    if len(markup) > MAX_HTML_CHARS:
        return strip_tags(markup)
    own_backslashes = _BACKSLASH_STANDIN not in markup
    if own_backslashes:
        markup = markup.replace("\\", _BACKSLASH_STANDIN)
    text = _converter().handle(markup)
    if own_backslashes:
        text = _ESCAPE.sub("", text).replace(_BACKSLASH_STANDIN, "\\")
    return _tidy(text)


def strip_tags(markup: str) -> str:
    """Linear-time fallback for huge HTML: drop tags, keep line breaks and entities."""
    markup = _DROPPED_ELEMENTS.sub("", markup)
    markup = _LINE_BREAKING_TAGS.sub("\n", markup)
    markup = _CELL_END.sub("\t", markup)
    return _tidy(html.unescape(_TAG.sub("", markup)))


def _converter() -> html2text.HTML2Text:
    # A fresh converter per body: HTML2Text keeps state between handle() calls.
    converter = html2text.HTML2Text()
    converter.body_width = 0  # never re-wrap: line breaks are the sender's
    converter.unicode_snob = True  # keep é, œ, ’ instead of ASCII look-alikes
    converter.ignore_emphasis = True  # *bold* and _italic_ marks are noise for rules
    converter.ignore_images = False
    converter.images_to_alt = True  # an image is its alt text, not a cid: link
    converter.single_line_break = False
    converter.mark_code = False
    return converter


def _tidy(text: str) -> str:
    text = text.replace("\xa0", " ").replace("\r\n", "\n")
    text = _TRAILING_SPACE.sub("", text)
    return _BLANK_LINES.sub("\n\n", text).strip("\n")

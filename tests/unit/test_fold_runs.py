"""`unify_punctuation` and `strip_accents` translate only the runs of characters they change:
the same text as translating every character (the plain form, kept here as the reference)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.reading import normalize
from ingest.reading.normalize import _LIGATURES, _NO_MARKS, _TRANSLATE

SPECIAL = "".join(chr(code) for code in _TRANSLATE) + "".join(_LIGATURES) + "éèàçôÉœ°€ñü\u0301"


def reference_unify(text: str) -> str:
    text = text.translate(_TRANSLATE)
    for lig, plain in _LIGATURES.items():
        text = text.replace(lig, plain)
    return text


def reference_strip(text: str) -> str:
    return unicodedata.normalize("NFKD", text).translate(_NO_MARKS)


texts = st.text(alphabet=st.sampled_from(SPECIAL + "ab 1.'-\n\t")) | st.text()


@settings(max_examples=500, deadline=None)
@given(texts)
def test_unify_punctuation_is_the_whole_text_translated(text):
    assert normalize.unify_punctuation(text) == reference_unify(text)


@settings(max_examples=500, deadline=None)
@given(texts)
def test_strip_accents_is_the_whole_text_without_its_marks(text):
    assert normalize.strip_accents(text) == reference_strip(text)


def test_every_character_the_tables_change_is_changed_alone_or_in_a_run():
    every = "".join(chr(code) for code in _TRANSLATE)
    assert normalize.unify_punctuation(f"a{every}b{every[::-1]}") == reference_unify(
        f"a{every}b{every[::-1]}"
    )
    assert normalize.strip_accents("Hélène, Œuvre naïve à 20 °C") == "Helene, Œuvre naive a 20 °C"

"""The rules decide every corpus mail, and every generated variant of one, as they did when
`tests/fixtures/frozen-decisions.json` was written (regenerate it with
`python -m tests.support.decisions --write` only for a change meant to move decisions)."""

from __future__ import annotations

import json

from tests.support.decisions import FIXTURE, snapshot


def test_every_decision_on_the_corpora_and_their_variants_is_byte_for_byte_the_frozen_one():
    frozen = json.loads(FIXTURE.read_text())
    current = snapshot()
    assert sorted(current) == sorted(frozen), "the generated cases themselves changed"
    changed = [
        f"{name}\n  was {frozen[name]['summary']}\n  now {current[name]['summary']}"
        for name in current
        if current[name] != frozen[name]
    ]
    assert not changed, f"{len(changed)} decisions changed:\n" + "\n".join(changed[:20])

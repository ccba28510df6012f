"""Every labelled corpus is decided as labelled, field by field (`guichet eval` on each)."""

from __future__ import annotations

import pytest

from ingest.analysis import Analyser
from tests.support.decisions import AT, ROOT, RULES, directory_for
from workers.evaluation import evaluate

# Misses left on purpose, each with its reason; any other miss fails.
KNOWN_MISSES = {
    # Subject "Outlook ne reçoit plus rien" read as an outage, while the text says only one
    # workstation is hit. Held out: left as found rather than tuned on.
    ("corpus-holdout", "048-outlook-poste-mdp.eml", "urgency"),
    ("corpus-holdout", "048-outlook-poste-mdp.eml", "urgent_requested"),
}


@pytest.mark.parametrize("corpus", ["corpus", "corpus-blind", "corpus-holdout", "corpus-triage"])
def test_every_mail_of_the_corpus_is_decided_as_labelled(corpus):
    result = evaluate(Analyser(directory_for(corpus), RULES), ROOT / "tests" / corpus, AT, False)
    misses = {(corpus, m["case"], m["field"]) for m in result["misses"]}
    assert misses == {m for m in KNOWN_MISSES if m[0] == corpus}, result["misses"]

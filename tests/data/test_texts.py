"""gloss_sample: a seeded draw without replacement from the gloss corpus."""

import pytest

from mantissa.data import gloss_sample, load_wordnet_glosses, wordnet_available

pytestmark = pytest.mark.skipif(not wordnet_available(), reason="WordNet is not installed")


def test_a_seeded_draw_without_replacement_from_the_noun_glosses():
    a, b = gloss_sample(50, seed=3), gloss_sample(50, seed=3)
    assert a == b and len(a) == 50
    pool = {s.definition for s in load_wordnet_glosses("n")}
    assert set(a) <= pool
    assert gloss_sample(50, seed=4) != a
    assert gloss_sample(80, seed=3)[:50] == a  # a longer draw extends the shorter one

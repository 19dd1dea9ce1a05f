import pytest

from mantissa.data import wordnet_available
from mantissa.errors import ShapeError, UnknownNameError
from mantissa.probe.similarity import Taxonomy, graded_pairs, spearman


class S:
    def __init__(self, id, hypernyms):
        self.id, self.hypernyms = id, hypernyms


def _toy():
    #        root
    #       /    \
    #      a      b
    #     / \      \
    #    c   d      e
    return Taxonomy([S("root", []), S("a", ["root"]), S("b", ["root"]), S("c", ["a"]), S("d", ["a"]),
                     S("e", ["b"])])


def test_toy_taxonomy_closed_forms():
    t = _toy()
    assert t.path_similarity("c", "d") == pytest.approx(1 / 3)
    assert t.path_similarity("c", "e") == pytest.approx(1 / 5)
    # wup(c, d): lcs a, depth(a) = 2, len = 1 + 2 each -> 4 / 6
    assert t.wup_similarity("c", "d") == pytest.approx(4 / 6)
    assert t.wup_similarity("c", "e") == pytest.approx(2 / 6)
    assert t.wup_similarity("c", "c") == pytest.approx(1.0)
    with pytest.raises(UnknownNameError):
        t.wup_similarity("c", "zz")


def test_spearman_and_pairs():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    with pytest.raises(ShapeError):
        spearman([1, 2], [1, 2])
    pairs = graded_pairs(_toy(), 5, seed=0)
    assert len(pairs) == len(set(pairs)) and all(a != b for a, b in pairs)


@pytest.mark.skipif(not wordnet_available(), reason="missing data: WordNet: apt-get install wordnet-base")
def test_wordnet_dog_cat_matches_nltk_reference_values():
    from mantissa.data import load_wordnet_glosses

    t = Taxonomy(load_wordnet_glosses("n"))
    dog, cat = "02084071-n", "02121620-n"  # dog.n.01, cat.n.01
    assert t.wup_similarity(dog, cat) == pytest.approx(0.857, abs=1e-3)  # NLTK documentation values
    assert t.path_similarity(dog, cat) == pytest.approx(0.2)

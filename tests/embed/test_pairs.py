import pytest
import torch

from mantissa.data import wordnet_available
from mantissa.embed.pairs import (
    Pair,
    digit_pairs,
    docstring_pairs,
    load_pairs_file,
    save_pairs_file,
    split_pairs,
    wordnet_pairs,
)
from mantissa.errors import ConfigError, CorruptFileError, UnknownNameError


def _pairs(n=200):
    return [Pair(f"a{i}", f"p{i // 2}", f"g{i // 2}") for i in range(n)]


def test_split_is_deterministic_and_groups_do_not_overlap():
    s1, s2 = split_pairs(_pairs(), seed=3), split_pairs(_pairs(), seed=3)
    assert s1 == s2
    groups = [{p.group for p in part} for part in (s1.train, s1.dev, s1.test)]
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    assert sum(s1.sizes().values()) == 200
    assert split_pairs(_pairs(), seed=4) != s1
    with pytest.raises(ConfigError, match="fractions"):
        split_pairs(_pairs(), (0.5, 0.5))


def test_split_drops_texts_seen_in_train():
    pairs = [Pair("shared", f"p{i}", f"g{i}") for i in range(100)]
    s = split_pairs(pairs, seed=0)
    assert s.train and not s.dev and not s.test


def test_pairs_file_round_trip_and_errors(tmp_path):
    path = save_pairs_file(tmp_path / "p.jsonl", _pairs(5))
    assert load_pairs_file(path) == _pairs(5)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"anchor": "x", "positive": "y"}\n{"anchor": "x"}\n')
    with pytest.raises(CorruptFileError, match=r"bad.jsonl:2: missing or empty field\(s\) positive"):
        load_pairs_file(bad)
    bad.write_text("not json\n")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        load_pairs_file(bad)


def test_docstring_and_digit_pairs():
    doc = docstring_pairs(limit=20)
    assert len(doc) == 20 and all(p.anchor and p.positive for p in doc)
    d = digit_pairs(seed=0)
    assert d.X.shape == (1797, 64) and float(d.X.max()) <= 1.0 and len(d.texts) == 1797
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    for text, y in zip(d.texts[:50], d.y[:50].tolist()):
        assert words[y] in text or str(y) in text
    train, test = d.split(0.25, seed=0)
    assert len(train.y) + len(test.y) == 1797 and isinstance(train.X, torch.Tensor)


@pytest.mark.skipif(not wordnet_available(), reason="missing data: WordNet: apt-get install wordnet-base")
def test_wordnet_pairs():
    lg = wordnet_pairs("lemma-gloss", limit=50)
    assert len(lg) == 50 and all(p.group.endswith("-n") for p in lg)
    syn = wordnet_pairs("synonyms", pos="v", limit=10)
    assert all(p.anchor != p.positive for p in syn)
    with pytest.raises(UnknownNameError, match="lemma-gloss"):
        wordnet_pairs("antonyms")


def test_retrieval_set_and_subsample():
    from mantissa.embed.pairs import retrieval_set, subsample

    pairs = [Pair("bank", "river side", "g1"), Pair("bank", "money house", "g2"),
             Pair("shore", "river side", "g1")]
    queries, corpus, rel = retrieval_set(pairs)
    assert queries == ["bank", "shore"] and corpus == ["river side", "money house"] and rel == [[0, 1], [0]]
    assert subsample(_pairs(), 10, seed=1) == subsample(_pairs(), 10, seed=1)
    assert len(subsample(_pairs(), 10)) == 10 and len(subsample(_pairs(5), 10)) == 5

import pytest
import torch
from markers import needs_minilm, needs_wordnet

from mantissa.data import (
    embed_corpus,
    load_minilm,
    load_sklearn,
    load_stdlib_docstrings,
    load_wordnet_glosses,
)
from mantissa.errors import UnknownNameError


@pytest.mark.parametrize("name, n, d", [("digits", 1797, 64), ("iris", 150, 4), ("wine", 178, 13),
                                        ("breast_cancer", 569, 30), ("diabetes", 442, 10)])
def test_sklearn(name, n, d):
    ds = load_sklearn(name)
    assert ds.X.shape == (n, d) and ds.X.dtype == torch.float32 and len(ds.y) == n
    train, test = ds.split(0.25, seed=1)
    assert len(train) + len(test) == n


def test_sklearn_unknown():
    with pytest.raises(UnknownNameError, match="digits"):
        load_sklearn("mnist")


def test_docstrings():
    docs = load_stdlib_docstrings()
    assert len(docs) > 3000
    names = {d.name for d in docs}
    assert "json.dumps" in names
    d = next(d for d in docs if d.name == "json.dumps")
    assert d.signature.startswith("dumps(obj") and "JSON" in d.doc


@needs_wordnet
def test_wordnet():
    syn = load_wordnet_glosses()
    assert len(syn) > 110_000
    dog = next(s for s in load_wordnet_glosses("n") if s.id == "02084071-n")
    assert dog.lemmas[0] == "dog" and "Canis familiaris" in dog.lemmas
    assert dog.definition.startswith("a member of the genus Canis")
    assert dog.examples == ("the dog barked all night",)
    assert "02083346-n" in dog.hypernyms
    with pytest.raises(UnknownNameError):
        load_wordnet_glosses("x")


def test_wordnet_missing_names_package(monkeypatch, tmp_path):
    from mantissa.data import wordnet
    from mantissa.errors import DataUnavailableError

    monkeypatch.setattr(wordnet, "WORDNET_DIRS", (str(tmp_path),))
    monkeypatch.delenv("MANTISSA_WORDNET", raising=False)
    wordnet._load.cache_clear()
    try:
        with pytest.raises(DataUnavailableError, match="apt-get install wordnet-base"):
            load_wordnet_glosses("n")
    finally:
        wordnet._load.cache_clear()


@needs_minilm
def test_minilm_embeddings_and_cache():
    model = load_minilm()
    texts = ["A man is playing a guitar.", "Someone plays an acoustic guitar.",
             "The stock market fell sharply today."]
    emb = embed_corpus(texts, model)
    assert emb.shape == (3, 384)
    assert torch.allclose(emb.norm(dim=1), torch.ones(3), atol=1e-4)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] + 0.3
    again = embed_corpus(texts, model)  # from the verified cache
    assert torch.equal(emb, again)


def test_cached_corpus_does_not_load_the_model(monkeypatch):
    from mantissa.data import minilm

    calls = []

    class Fake:
        name = minilm.NAME

        def encode(self, texts, batch_size=64, normalize=True):
            calls.append(len(texts))
            return torch.ones(len(texts), 3)

    monkeypatch.setattr(minilm, "load_minilm", lambda: Fake())
    first = embed_corpus(["x", "y"])
    again = embed_corpus(["x", "y"])
    assert calls == [2] and torch.equal(first, again)

import pytest
import torch
from markers import needs_wordnet

from mantissa.errors import ConfigError
from mantissa.tasks import CharTokenizer
from mantissa.tasks.charlm import char_corpus, lm_batch, lm_windows, split_windows


def test_docstring_corpus_and_windows():
    tok = CharTokenizer()
    ids = char_corpus(tok, "docstrings", 5000)
    assert 4000 < len(ids) <= 5000 and ids.dtype == torch.long
    assert tok.pad_id not in ids.tolist()
    w = lm_windows(ids, 8, 32, seed=1)
    assert w.shape == (8, 33) and torch.equal(w, lm_windows(ids, 8, 32, seed=1))
    text = tok.decode(w[0].tolist())
    assert text in tok.decode(ids.tolist())


@needs_wordnet
def test_wordnet_corpus():
    assert "entity" in CharTokenizer().decode(char_corpus(CharTokenizer(), "wordnet", 2000).tolist())


def test_errors():
    with pytest.raises(ConfigError, match="wordnet, docstrings"):
        char_corpus(CharTokenizer(), "wiki")
    with pytest.raises(ConfigError, match="too short"):
        lm_windows(torch.arange(5), 2, 10, 0)


def test_split_windows_and_lm_batch():
    ids = torch.arange(1000)
    train, val = split_windows(ids, 5, 3, 10, seed=2, val_length=20)
    assert torch.equal(train, lm_windows(ids[:900], 5, 10, 2))
    assert torch.equal(val, lm_windows(ids[900:], 3, 20, 3))
    assert int(train.max()) < 900 and int(val.min()) >= 900
    batch = lm_batch(train)
    assert batch["idx"] is train and batch["mask"].dtype == torch.bool and bool(batch["mask"].all())

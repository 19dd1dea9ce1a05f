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


def test_frequency_streams_keep_the_commonest_characters():
    from mantissa.data import wordnet_available
    from mantissa.tasks.charlm import frequency_streams

    if not wordnet_available():
        pytest.skip("WordNet is not installed")
    train, held = frequency_streams(5000, vocab=8)
    assert len(train) == 4500 and len(held) == 500
    assert int(train.max()) <= 7 and int(train.min()) >= 0 and (train == 1).sum() >= (train == 7).sum()


def test_window_batch_draws_with_the_running_generator():
    from mantissa.tasks.charlm import window_batch

    stream = torch.arange(100)
    g = torch.Generator().manual_seed(0)
    a, b = window_batch(stream, 4, 9, g), window_batch(stream, 4, 9, g)
    assert a.shape == (4, 10) and not torch.equal(a, b)
    assert all(torch.equal(row, torch.arange(int(row[0]), int(row[0]) + 10)) for row in a)

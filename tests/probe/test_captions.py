"""Caption probes: candidate scores are summed masked log-likelihoods, greedy decoding stops at
EOS, and the determined-token accuracy is 100 for an oracle and low for noise."""

import torch

from mantissa.probe.captions import candidate_scores, determined_next_token_accuracy, greedy_captions
from mantissa.tasks.digit_captions import candidate_captions, every_caption
from mantissa.tasks.tokenizer import CharTokenizer


def test_candidate_scores_sum_the_masked_log_likelihood():
    tok = CharTokenizer()
    cands = candidate_captions(tok)
    torch.manual_seed(0)
    table = torch.randn(tok.vocab_size, tok.vocab_size)

    def forward(idx, feats):  # a bigram model shifted by the feature
        return table[idx] + feats[:, :1, None]

    feats = torch.randn(3, 4)
    scores = candidate_scores(forward, cands, feats)
    assert scores.shape == (3, 10)
    idx, mask = cands["idx"][4], cands["mask"][4]
    logp = (table[idx[:-1]] + feats[1, 0]).log_softmax(-1).gather(-1, idx[1:, None])[:, 0]
    torch.testing.assert_close(scores[1, 4], (logp * mask[1:]).sum())


def test_greedy_captions_stop_at_eos():
    tok = CharTokenizer()
    a = tok.encode("a")[0]

    def forward(idx, feats):  # "a" twice after BOS, then EOS
        out = torch.full((*idx.shape, tok.vocab_size), -1e9)
        out[..., tok.eos_id if idx.shape[1] >= 3 else a] = 0.0
        return out

    assert greedy_captions(forward, tok, torch.zeros(2, 1)) == ["aa", "aa"]


def test_determined_accuracy_is_100_for_an_oracle_and_low_for_noise():
    tok = CharTokenizer()
    corpus = every_caption(tok)
    table: dict[tuple, int] = {}
    for row in corpus["idx"].tolist():
        for i in range(1, len(row)):
            table.setdefault(tuple(row[:i]), row[i])

    def oracle(x):  # predicts the first continuation seen for each prefix
        out = torch.full((*x.shape, tok.vocab_size), -1e9)
        for b, row in enumerate(x.tolist()):
            for i in range(len(row)):
                out[b, i, table.get(tuple(row[: i + 1]), 0)] = 0.0
        return out

    assert determined_next_token_accuracy(oracle, corpus) == 100.0
    assert determined_next_token_accuracy(lambda x: torch.zeros(*x.shape, tok.vocab_size), corpus) < 20.0

import pytest
import torch
import torch.nn.functional as F

from mantissa.embed import vlm2vec as v2v

TEXTS = ["find the digit", "the digit after this one", "seven", "even odd yes no"]


def _setup(seed=0):
    torch.manual_seed(seed)
    vocab = v2v.WordVocab(TEXTS)
    cfg = v2v.VLM2VecConfig(vocab_size=vocab.size, d_model=16, n_head=2, n_layer=2, instr_len=4, text_len=5)
    images = torch.rand(5, 8, 8)
    inp = v2v.encode_inputs(vocab, cfg, images, ["find the digit", "", "find the digit", ""],
                            [0, 2, -1, 4], ["the digit after this one", "", "seven", "even"])
    return vocab, cfg, images, inp


def test_vocab_pads_and_truncates():
    vocab = v2v.WordVocab(TEXTS)
    ids = vocab.encode("Seven, even! unknownword", 4)
    assert ids[0] == vocab.ids["seven"] and ids[1] == vocab.ids["even"] and ids[2] == v2v.UNK
    assert ids[3] == v2v.PAD and len(vocab.encode("a b c d e f", 3)) == 3


def test_batch_equals_rows_one_at_a_time():
    _, cfg, _, inp = _setup()
    model = v2v.VLM2VecEncoder(cfg).eval()
    with torch.no_grad():
        batch = model.embed(inp)
        rows = torch.cat([model.embed({k: v[i:i + 1] for k, v in inp.items()}) for i in range(4)])
    assert torch.allclose(batch, rows, atol=1e-5)


def test_masked_parts_do_not_matter():
    _, cfg, _, inp = _setup()
    model = v2v.VLM2VecEncoder(cfg).eval()
    other = dict(inp, image=inp["image"].clone())
    other["image"][2] = 7.0  # row 2 has no image
    with torch.no_grad():
        assert torch.allclose(model.embed(inp), model.embed(other), atol=1e-6)
        img_only = model.embed(inp, use=("image",))
        blank = dict(inp, text=torch.zeros_like(inp["text"]), instr=torch.zeros_like(inp["instr"]))
        no_text = model.embed(blank)
    assert torch.allclose(img_only, no_text, atol=1e-6)


def test_late_fusion_sums_normalised_towers():
    _, cfg, _, inp = _setup()
    model = v2v.LateFusion(cfg).eval()
    with torch.no_grad():
        e = model.embed(inp)
        ei = F.normalize(model.image_tower.embed(inp, use=("image",)), dim=-1)
        et = F.normalize(model.text_tower.embed(inp, use=("instruction", "text")), dim=-1)
    assert torch.allclose(e[0], ei[0] + et[0], atol=1e-6)  # image + text
    assert torch.allclose(e[1], ei[1], atol=1e-6)  # image alone
    assert torch.allclose(e[2], et[2], atol=1e-6)  # text alone


def test_loss_trains_and_top1():
    vocab, cfg, images, _ = _setup()
    q = v2v.encode_inputs(vocab, cfg, images, [""] * 4, [0, 1, 2, 3], [""] * 4, "q_")
    c = v2v.encode_inputs(vocab, cfg, images, [""] * 4, [-1] * 4, ["seven", "even", "odd", "yes"], "c_")
    batch = {**q, **c, "key": torch.arange(4)}
    model = v2v.VLM2VecEncoder(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss, _ = v2v.vlm2vec_loss(model, batch)
        first = first or float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.2 * first


def test_top1_accuracy_hand_case():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    c = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1]])
    keys_c = torch.tensor([5, 6, 5])
    assert v2v.top1_accuracy(q, c, torch.tensor([5, 6, 6]), keys_c) == pytest.approx(2 / 3)
    excl = torch.tensor([[True, False, False], [False, False, False], [False, False, False]])
    assert v2v.top1_accuracy(q, c, torch.tensor([5, 6, 5]), keys_c, excl) == pytest.approx(1.0)

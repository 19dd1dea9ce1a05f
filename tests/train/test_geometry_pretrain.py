import torch

from mantissa.models.tiny_vit import TinyViTConfig
from mantissa.tasks import geometry as geo
from mantissa.train import geometry_pretrain as gp


class _Fixed(torch.nn.Module):
    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, images):
        return self.logits[: len(images)]


def test_grounding_f1_hand_case():
    t = torch.zeros(2, 2, 2, 2)
    t[0, 0, 0, 0] = t[1, 0, 1, 1] = 1  # channel 0: two positives
    logits = -torch.ones(2, 2, 2, 2)
    logits[0, 0, 0, 0] = logits[0, 0, 1, 0] = 1  # one hit, one false positive
    f1 = gp.grounding_f1(_Fixed(logits), torch.zeros(2, 4, 4), t)
    assert torch.allclose(f1, torch.tensor([2 * 1 / (2 + 2), 0.0]))


def test_both_objectives_train_on_diagrams():
    torch.manual_seed(0)
    data = geo.pretraining_set(64, seed=0, size=16, patch=4)
    caps = geo.all_captions()
    ids = torch.tensor([i for i, _ in caps])
    tok = torch.tensor([geo.caption_tokens(c) for _, c in caps])
    cid = torch.as_tensor(data["caption_ids"])
    batch = {"images": torch.as_tensor(data["images"]), "targets": torch.as_tensor(data["targets"]),
             "caption_ids": cid, "captions": tok[[int((ids == i).nonzero()[0, 0]) for i in cid]]}
    cfg = TinyViTConfig(image_size=16, patch=4, d_model=16, n_head=2, n_layer=2)
    for model, loss_fn in ((gp.GroundingModel(cfg, len(geo.GROUNDING_CHANNELS)), gp.grounding_loss),
                           (gp.CaptionContrastiveModel(cfg, len(geo.CAPTION_WORDS), geo.CAPTION_LEN),
                            gp.caption_loss)):
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        first = float(loss_fn(model, batch)[0].detach())
        for _ in range(40):
            loss = loss_fn(model, batch)[0]
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert float(loss.detach()) < 0.8 * first
    assert gp.encoder_features(model.vit, batch["images"][:3]).shape == (3, 2, 16, 16)
    assert 0.0 <= gp.caption_top1(model, batch["images"], cid, ids, tok) <= 1.0

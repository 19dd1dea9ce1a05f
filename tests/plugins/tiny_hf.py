"""Tiny Hugging Face / sentence-transformers model folders made offline from configs, with
random weights and a small word-piece tokenizer (no download, no packaged data)."""

from __future__ import annotations

from pathlib import Path

import torch

TEXTS = ["The cat sat on the warm mat near the door.",
         "Quantized weights keep most of a model's accuracy.",
         "A river flows through the old stone bridge at dawn.",
         "Numbers in low precision save memory and time."]
_WORDS = sorted({w.strip(".,'").lower() for t in TEXTS for w in t.split()})
HIDDEN, FFN, VOCAB_EXTRA = 128, 256, 0


def tokenizer(folder: Path, model_input_names: list[str] | None = None):
    """A BERT word-piece tokenizer over the test texts' words and single letters."""
    import transformers

    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", ",", "'", *letters,
             *(f"##{c}" for c in letters), *_WORDS]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    kw = {"model_input_names": model_input_names} if model_input_names else {}
    tok = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), **kw)
    (folder / "vocab.txt").unlink()
    return tok


def _save(model, tok, folder: Path) -> Path:
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def bert_folder(folder: Path) -> Path:
    import transformers

    torch.manual_seed(0)
    tok = tokenizer(folder)
    cfg = transformers.BertConfig(vocab_size=len(tok), hidden_size=HIDDEN, num_hidden_layers=2,
                                  num_attention_heads=2, intermediate_size=FFN, max_position_embeddings=64)
    return _save(transformers.BertModel(cfg).eval(), tok, folder)


def distilbert_folder(folder: Path) -> Path:
    import transformers

    torch.manual_seed(1)
    tok = tokenizer(folder, ["input_ids", "attention_mask"])
    cfg = transformers.DistilBertConfig(vocab_size=len(tok), dim=HIDDEN, n_layers=2, n_heads=2,
                                        hidden_dim=FFN, max_position_embeddings=64)
    return _save(transformers.DistilBertModel(cfg).eval(), tok, folder)


def gpt2_folder(folder: Path) -> Path:
    """A GPT2LMHeadModel (Conv1D projections, output head tied to the token embedding)."""
    import transformers

    torch.manual_seed(2)
    tok = tokenizer(folder, ["input_ids", "attention_mask"])
    cfg = transformers.GPT2Config(vocab_size=len(tok), n_embd=HIDDEN, n_layer=2, n_head=2, n_positions=64,
                                  pad_token_id=0, bos_token_id=2, eos_token_id=3)
    return _save(transformers.GPT2LMHeadModel(cfg).eval(), tok, folder)


def st_folder(folder: Path, pooling: str = "cls") -> Path:
    """A sentence-transformers folder around :func:`bert_folder`'s BERT: ``pooling`` + Normalize."""
    from sentence_transformers import SentenceTransformer, models

    bert = bert_folder(folder.parent / f"{folder.name}-bert")
    modules = [models.Transformer(str(bert)), models.Pooling(HIDDEN, pooling_mode=pooling),
               models.Normalize()]
    st = SentenceTransformer(modules=modules, device="cpu")
    st.save(str(folder))
    return folder

"""The shared multi-task merging benchmark of ``atlas``, ``self-positioning`` and
``concrete-merging`` (one table across all merge methods).

Four real text-classification tasks built from WordNet glosses, each on its own
slice of the lexicon: part of speech (4 classes), noun supersense (8
lexicographer files), verb supersense (8) and adjective kind (head/satellite vs
relational). Inputs are sentence embeddings of the gloss (the packaged MiniLM;
``tfidf`` features at smoke scale). The model is a 2-layer MLP body with one
linear head per task. The body is first pre-trained as an autoencoder of the
gloss embeddings (the shared "pre-trained model"), then fine-tuned with its
head on each task separately; the merge methods combine the fine-tuned bodies
and every task is scored with its own head on a held-out test split. Learned
merges (and ``task-arithmetic:scale=auto``) see only a small labelled
validation split per task.

Each repetition (``seeds``) resamples the data and re-runs pre-training,
fine-tuning and merging; a claim compares two methods on the gains paired by
repetition and passes when mean − 2·SE exceeds its margin (protocol v2). The
gates say the fine-tuned task models learned their tasks.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from mantissa.data import embed_corpus, load_minilm, load_wordnet_glosses
from mantissa.errors import ConfigError
from mantissa.merge import merge
from mantissa.progress import track
from mantissa.runtime import threads
from mantissa.stats import seed_metrics

#: one repetition's accuracy table: method -> task (and 'normalized', ...) -> accuracy
Table = dict[str, dict[str, float]]

TASK_NAMES = ("pos", "noun-supersense", "verb-supersense", "adj-kind")


@dataclass
class Task:
    name: str
    texts: dict[str, list[str]]  # split -> texts
    labels: dict[str, torch.Tensor]
    n_classes: int
    x: dict[str, torch.Tensor] | None = None


def _pool(name: str) -> list[tuple[str, int]]:
    """(gloss, label) pairs of one task over the whole of WordNet."""
    if name == "pos":
        return [(s.definition, "nvar".index(s.pos)) for s in load_wordnet_glosses()]
    if name == "adj-kind":  # lex file 0 adj.all, 1 adj.pert, 44 adj.ppl
        return [(s.definition, int(s.lex_file != 0)) for s in load_wordnet_glosses("a")]
    pos = "n" if name == "noun-supersense" else "v"
    syns = load_wordnet_glosses(pos)
    top = [lf for lf, _ in Counter(s.lex_file for s in syns).most_common(8)]
    return [(s.definition, top.index(s.lex_file)) for s in syns if s.lex_file in top]


def build_task(name: str, sizes: dict[str, int], seed: int) -> Task:
    """A class-balanced sample of the task, split into train/val/test."""
    pool = _pool(name)
    n_classes = max(lbl for _, lbl in pool) + 1
    by_class: dict[int, list[str]] = {}
    for text, lbl in pool:
        by_class.setdefault(lbl, []).append(text)
    g = torch.Generator().manual_seed(seed)
    texts = {k: [] for k in sizes}
    labels = {k: [] for k in sizes}
    for lbl in range(n_classes):
        items = by_class[lbl]
        perm = torch.randperm(len(items), generator=g).tolist()
        start = 0
        for split, n in sizes.items():
            take = [items[i] for i in perm[start : start + -(-n // n_classes)]]
            start += len(take)
            texts[split] += take
            labels[split] += [lbl] * len(take)
    return Task(name, texts, {k: torch.tensor(v) for k, v in labels.items()}, n_classes)


def featurize(tasks: list[Task], encoder: str) -> int:
    """Fill ``task.x``; returns the feature dimension."""
    all_texts = [t for task in tasks for split in task.texts.values() for t in split]
    if encoder == "minilm":
        emb = embed_corpus(all_texts, load_minilm())
    elif encoder == "tfidf":
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        tf = TfidfVectorizer(max_features=3000).fit_transform(all_texts)
        emb = torch.tensor(TruncatedSVD(64, random_state=0).fit_transform(tf), dtype=torch.float32)
        emb = F.normalize(emb, dim=-1)
    else:
        raise ConfigError(f"unknown encoder {encoder!r}; use minilm or tfidf")
    i = 0
    for task in tasks:
        task.x = {}
        for split, texts in task.texts.items():
            task.x[split] = emb[i : i + len(texts)]
            i += len(texts)
    return emb.shape[1]


class Body(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.l1, self.l2 = nn.Linear(dim, hidden), nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.l2(F.gelu(self.l1(x))))


def _train(params: list[torch.Tensor], loss_fn, steps: int, lr: float, desc: str) -> None:
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    for _ in track(range(steps), desc):
        opt.zero_grad()
        loss_fn().backward()
        opt.step()


def pretrain(body: Body, x: torch.Tensor, steps: int, lr: float, seed: int) -> None:
    """Self-supervised autoencoder pre-training of the body on gloss embeddings."""
    dec = nn.Linear(body.l2.out_features, x.shape[1])
    g = torch.Generator().manual_seed(seed)

    def loss() -> torch.Tensor:
        idx = torch.randint(len(x), (128,), generator=g)
        noisy = x[idx] + 0.02 * torch.randn(x[idx].shape, generator=g)
        return F.mse_loss(dec(body(noisy)), x[idx]) * x.shape[1]

    _train([*body.parameters(), *dec.parameters()], loss, steps, lr, "pre-training the body")


def finetune(base: Body, task: Task, hidden: int, steps: int, lr: float, seed: int) -> tuple[Body, nn.Linear]:
    body = copy.deepcopy(base)
    torch.manual_seed(seed)
    head = nn.Linear(hidden, task.n_classes)
    g = torch.Generator().manual_seed(seed)
    x, y = task.x["train"], task.labels["train"]

    def loss() -> torch.Tensor:
        idx = torch.randint(len(x), (64,), generator=g)
        return F.cross_entropy(head(body(x[idx])), y[idx])

    _train([*body.parameters(), *head.parameters()], loss, steps, lr, f"fine-tuning on {task.name}")
    return body, head


def accuracy(body: nn.Module, state: dict, head: nn.Linear, task: Task, split: str = "test") -> float:
    with torch.no_grad():
        logits = head(functional_call(body, state, (task.x[split],)))
    return float((logits.argmax(-1) == task.labels[split]).float().mean())


def val_objective(body: nn.Module, heads: list[nn.Linear], tasks: list[Task]):
    """Mean cross-entropy over the tasks' validation splits (the probe set)."""
    for h in heads:
        h.requires_grad_(False)

    def objective(state: dict) -> torch.Tensor:
        losses = [F.cross_entropy(h(functional_call(body, state, (t.x["val"],))), t.labels["val"])
                  for h, t in zip(heads, tasks, strict=True)]
        return torch.stack(losses).mean()

    return objective


def entropy_objective(body: nn.Module, heads: list[nn.Linear], tasks: list[Task]):
    """Mean prediction entropy on the tasks' unlabelled test inputs — the test-time
    adaptation objective of AdaMerging and the Concrete paper (labels never used)."""

    def objective(state: dict) -> torch.Tensor:
        ent = []
        for h, t in zip(heads, tasks, strict=True):
            logp = F.log_softmax(h(functional_call(body, state, (t.x["test"],))), -1)
            ent.append(-(logp.exp() * logp).sum(-1).mean())
        return torch.stack(ent).mean()

    return objective


def joint_training(base: Body, tasks: list[Task], heads: list[nn.Linear], steps: int, lr: float,
                   seed: int) -> Body:
    """Multi-task training with balanced resampling (the usual alternative to merging)."""
    body = copy.deepcopy(base)
    new_heads = [copy.deepcopy(h).requires_grad_(True) for h in heads]
    g = torch.Generator().manual_seed(seed)

    def loss() -> torch.Tensor:
        out = []
        for h, t in zip(new_heads, tasks, strict=True):
            idx = torch.randint(len(t.x["train"]), (64 // len(tasks) + 1,), generator=g)
            out.append(F.cross_entropy(h(body(t.x["train"][idx])), t.labels["train"][idx]))
        return torch.stack(out).mean()

    _train([*body.parameters(), *(p for h in new_heads for p in h.parameters())], loss, steps, lr,
           "joint multi-task training")
    body.heads = new_heads  # type: ignore[attr-defined]
    return body


_MEMO: dict[str, dict[str, dict[str, float]]] = {}


def run_suite(cfg, seed: int, methods: dict[str, str]) -> list[dict[str, dict[str, float]]]:
    """One table (accuracy per method and task, plus 'individual', 'base', 'joint')
    per repetition: seeds ``seed .. seed + cfg.seeds - 1`` resample the task data and
    re-run pre-training, fine-tuning and merging.

    Deterministic in (cfg, seed, methods), so the three merging experiments share
    one computation per process (e.g. in ``mantissa run --tour``)."""
    out = []
    for s in range(seed, seed + cfg.seeds):
        key = repr((cfg, s, sorted(methods.items())))
        if key not in _MEMO:
            _MEMO[key] = _run_suite(cfg, s, methods)
        out.append({m: dict(row) for m, row in _MEMO[key].items()})
    return out


def mean_table(tables: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {m: {c: sum(t[m][c] for t in tables) / len(tables) for c in row} for m, row in tables[0].items()}


def gains(tables: list[dict[str, dict[str, float]]], a: str, b: str) -> list[float]:
    """Per-repetition gain of method ``a`` over ``b`` (points of mean test accuracy), paired
    by repetition (same data, pre-training and fine-tuned models)."""
    return [100 * (t[a]["mean"] - t[b]["mean"]) for t in tables]


def gain_metrics(name: str, tables: list[dict[str, dict[str, float]]], a: str, b: str) -> dict[str, float]:
    """``seed_metrics`` of the paired gains of ``a`` over ``b`` (``<name>_mean/_se/_lcb/_seeds``)
    plus ``<name>_min``, the smallest repetition's gain."""
    g = gains(tables, a, b)
    return {**seed_metrics(name, g), f"{name}_min": min(g)}


def gate_metrics(tables: list[dict[str, dict[str, float]]]) -> dict[str, float]:
    """Setup gates shared by the merging experiments: the fine-tuned task models' mean test
    accuracy (``acc_individual``, in ``metrics_from``) and their smallest gain over the
    pre-trained body with the same heads (``finetune_gain_min``, points): fine-tuning
    really moved each body, so there is something to merge."""
    return {"finetune_gain_min": min(100 * (t["individual"]["mean"] - t["base + heads"]["mean"])
                                     for t in tables)}


def _run_suite(cfg, seed: int, methods: dict[str, str]) -> dict[str, dict[str, float]]:
    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    tasks = [build_task(n, sizes, seed) for n in TASK_NAMES[: cfg.n_tasks]]
    dim = featurize(tasks, cfg.encoder)
    with threads(1):
        return _train_and_merge(cfg, seed, methods, tasks, dim)


def _train_and_merge(cfg, seed: int, methods: dict[str, str], tasks: list[Task],
                     dim: int) -> dict[str, dict[str, float]]:
    torch.manual_seed(seed)
    base = Body(dim, cfg.hidden)
    pretrain(base, torch.cat([t.x["train"] for t in tasks]), cfg.pretrain_steps, cfg.lr, seed)
    fts = [finetune(base, t, cfg.hidden, cfg.finetune_steps, cfg.lr, seed + i) for i, t in enumerate(tasks)]
    heads = [h for _, h in fts]
    base_sd = {k: v.detach().clone() for k, v in base.state_dict().items()}
    ft_sds = [{k: v.detach().clone() for k, v in b.state_dict().items()} for b, _ in fts]
    table: dict[str, dict[str, float]] = {}
    table["individual"] = {t.name: accuracy(base, sd, h, t)
                           for t, sd, h in zip(tasks, ft_sds, heads, strict=True)}
    table["base + heads"] = {t.name: accuracy(base, base_sd, h, t) for t, h in zip(tasks, heads, strict=True)}
    if cfg.joint_steps:
        jb = joint_training(base, tasks, heads, cfg.joint_steps, cfg.lr, seed)
        jsd = dict(jb.state_dict())
        table["joint (resampled)"] = {t.name: accuracy(base, jsd, h, t)
                                      for t, h in zip(tasks, jb.heads, strict=True)}
    objectives = {"val": val_objective(base, heads, tasks), "tta": entropy_objective(base, heads, tasks)}
    for label, spec in methods.items():
        kind, _, spec = spec.rpartition("@") if "@" in spec else ("val", "", spec)
        state = merge(spec, base_sd, ft_sds, objectives[kind]).state
        table[label] = {t.name: accuracy(base, state, h, t) for t, h in zip(tasks, heads, strict=True)}
    for row in table.values():
        row["mean"] = sum(row.values()) / len(row)
    for row in table.values():
        row["normalized"] = row["mean"] / table["individual"]["mean"]
    return table


@dataclass
class MergeConfig:
    """Quick-scale defaults of the merging benchmark."""

    n_tasks: int = 4
    n_train: int = 400
    n_val: int = 48
    n_test: int = 240
    encoder: str = "minilm"
    hidden: int = 128
    lr: float = 3e-3
    pretrain_steps: int = 300
    finetune_steps: int = 300
    joint_steps: int = 600
    merge_steps: int = 150
    seeds: int = 3  # repetitions (data resample + training); claims judge mean - 2 SE of paired gains


def method_specs(steps: int) -> dict[str, str]:
    """Label -> merge spec; a ``tta@`` prefix selects the unlabelled entropy objective
    instead of the labelled validation cross-entropy."""
    return {
        "average": "average",
        "task arithmetic": "task-arithmetic:scale=auto",
        "task arithmetic (λ=0.3)": "task-arithmetic:scale=0.3",
        "ties": "ties:k=0.2,scale=1.0",
        "aTLAS": f"atlas:steps={steps},lr=0.03",
        "Self Positioning": f"self-positioning:steps={steps},lr=0.05",
        "Concrete TA": f"concrete:steps={steps},lr=0.05,inner=ta",
        "Concrete TA (λ on val)": f"concrete:steps={steps},lr=0.05,inner=ta,tune=true",
        "Concrete AM": f"concrete:steps={steps},lr=0.05,inner=adamerging",
        # the Concrete paper's protocol: entropy on unlabelled test inputs (test-time adaptation)
        "Concrete TA (TTA entropy)": f"tta@concrete:steps={steps},lr=0.05,inner=ta",
    }


def write_table(tables: list[dict[str, dict[str, float]]], out_dir) -> list[str]:
    """CSV of the mean table (and of every repetition) and a bar plot of mean accuracy."""
    from mantissa.io import atomic_write
    from mantissa.plot import figure, save

    table = mean_table(tables)
    cols = list(next(iter(table.values())))
    lines = ["method," + ",".join(cols)]
    lines += [f"{m}," + ",".join(f"{row[c]:.4f}" for c in cols) for m, row in table.items()]
    atomic_write(out_dir / "merge_table.csv", "\n".join(lines) + "\n")
    rep = ["repetition,method," + ",".join(cols)]
    rep += [f"{i},{m}," + ",".join(f"{row[c]:.4f}" for c in cols)
            for i, t in enumerate(tables) for m, row in t.items()]
    atomic_write(out_dir / "merge_table_per_seed.csv", "\n".join(rep) + "\n")
    fig, ax = figure(figsize=(7.5, 4.0))
    names = list(table)
    means = [100 * table[m]["mean"] for m in names]
    spread = [[100 * (table[m]["mean"] - min(t[m]["mean"] for t in tables)) for m in names],
              [100 * (max(t[m]["mean"] for t in tables) - table[m]["mean"]) for m in names]]
    ax.barh(names, means, xerr=spread, color="tab:blue", capsize=3)
    ax.invert_yaxis()
    ax.set_xlabel(f"mean test accuracy over tasks (%), mean and range of {len(tables)} repetition(s)")
    ax.set_xlim(max(0.0, min(means) - 12), 100)
    ax.set_title("merging fine-tuned MLP bodies (WordNet gloss tasks)")
    save(fig, out_dir / "merge_methods.png")
    return ["merge_table.csv", "merge_table_per_seed.csv", "merge_methods.png"]


def metrics_from(table: dict[str, dict[str, float]]) -> dict[str, float]:
    key = {"individual": "individual", "base + heads": "base", "joint (resampled)": "joint",
           "average": "average", "task arithmetic": "task_arithmetic", "ties": "ties", "aTLAS": "atlas",
           "Self Positioning": "self_positioning", "Concrete TA": "concrete_ta", "Concrete AM": "concrete_am",
           "task arithmetic (λ=0.3)": "task_arithmetic_03", "Concrete TA (λ on val)": "concrete_ta_tuned",
           "Concrete TA (TTA entropy)": "concrete_ta_tta"}
    out = {}
    for method, row in table.items():
        out[f"acc_{key.get(method, method)}"] = 100 * row["mean"]
    return out


def benchmark(cfg: MergeConfig, seed: int, out_dir: Path,
              gains_of: Sequence[tuple[str, str, str]]) -> tuple[dict[str, float], list[str], list[Table]]:
    """The whole benchmark as a merging experiment reports it: the suite's tables over the
    repetitions, the mean accuracy of every method (:func:`metrics_from`), the gates
    (:func:`gate_metrics`) and, for each ``(name, a, b)`` in ``gains_of`` whose two methods ran,
    the seed-paired gain of ``a`` over ``b`` (:func:`gain_metrics`); plus the files written
    (:func:`write_table`) and the tables."""
    tables = run_suite(cfg, seed, method_specs(cfg.merge_steps))
    metrics = metrics_from(mean_table(tables))
    metrics.update(gate_metrics(tables))
    for name, a, b in gains_of:
        if a in tables[0] and b in tables[0]:
            metrics.update(gain_metrics(name, tables, a, b))
    return metrics, write_table(tables, out_dir), tables

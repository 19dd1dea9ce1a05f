"""Static word vectors (survey #22): skip-gram with negative sampling and GloVe trained on
a real corpus solve analogies far above chance and track a human-built similarity.

Corpus: WordNet 3.0 as a dictionary — for every synset its lemmas followed by its
definition, plus every usage example (≈1.6 M tokens). Analogies (3CosAdd over the whole
vocabulary): adjective → adverb (WordNet pertainyms), singular → plural,
male → female, country → capital. Similarity: Spearman between the cosine of two nouns'
vectors and the Wu–Palmer similarity of their synsets.
"""

from __future__ import annotations

from pathlib import Path

from mantissa import plot
from mantissa.data import load_wordnet_glosses
from mantissa.embed.word_vectors import Corpus, WordVectors, analogy_sets, quads, train_glove, train_sgns
from mantissa.experiments import Experiment, Result, card_config, register
from mantissa.io import write_csv
from mantissa.probe.similarity import Taxonomy, graded_pairs, spearman

Config = card_config(__name__)  # the card's [config]: word_vectors.toml


@register
class WordVectorsExperiment(Experiment):
    id = "word-vectors"

    def run(self, cfg: Config, seed: int, out_dir: Path) -> Result:
        synsets = load_wordnet_glosses(tuple(cfg.pos))
        if cfg.synsets:
            synsets = synsets[: cfg.synsets]
        texts = [" ".join(s.lemmas) + " : " + s.definition for s in synsets]
        texts += [e for s in synsets for e in s.examples]
        corpus = Corpus.build(texts, min_count=cfg.min_count)
        relations = analogy_sets(corpus.words, synsets, seed=seed)
        models = {"sgns": train_sgns(corpus, cfg.dim, cfg.window, cfg.negatives, cfg.sgns_epochs, seed=seed),
                  "glove": train_glove(corpus, cfg.dim, cfg.window, cfg.glove_epochs, seed=seed)}
        chance = 1.0 / (len(corpus.words) - 3)
        word_pairs, gold = self._similarity_pairs(synsets, corpus.words, cfg.similarity_pairs, seed)
        metrics: dict[str, float] = {"vocab": len(corpus.words), "tokens": len(corpus), "chance": chance}
        rows = []
        for name, vec in models.items():
            answered = correct = only_c = 0.0
            for rel, pairs in relations.items():
                qs = quads(pairs)
                acc, n = vec.analogy(qs)
                acc_c, _ = vec.analogy(qs, method="only-c")
                rows.append([name, rel, acc, acc_c, n])
                metrics[f"{name}_{rel}_acc"] = acc
                metrics[f"{name}_{rel}_only_c_acc"] = acc_c
                if n:
                    answered, correct, only_c = answered + n, correct + acc * n, only_c + acc_c * n
            metrics[f"{name}_acc"] = correct / answered if answered else float("nan")
            metrics[f"{name}_only_c_acc"] = only_c / answered if answered else float("nan")
            metrics[f"{name}_gain_over_only_c"] = 100 * (metrics[f"{name}_acc"]
                                                         - metrics[f"{name}_only_c_acc"])
            metrics[f"{name}_questions"] = answered
            metrics[f"{name}_similarity"] = self._similarity(vec, word_pairs, gold)
        metrics["sgns_ratio_over_chance"] = metrics["sgns_acc"] / chance
        metrics["glove_ratio_over_chance"] = metrics["glove_acc"] / chance
        metrics["similarity_pairs"] = len(word_pairs)
        header = ["model", "relation", "accuracy", "only_c_accuracy", "questions"]
        arts = [write_csv(out_dir / "analogies.csv", header, rows),
                self._bars(out_dir / "analogies.png", rows, chance)]
        return Result(metrics, arts)

    def _similarity_pairs(self, synsets, vocab, n: int, seed: int):
        nouns = [s for s in synsets if s.pos == "n"]
        tax = Taxonomy(nouns)
        allowed = set(vocab)
        head = {s.id: s.lemmas[0].lower() for s in nouns if s.lemmas[0].lower() in allowed}
        pairs = graded_pairs(tax, n, seed=seed, ids=sorted(head))
        return [(head[a], head[b]) for a, b in pairs], [tax.wup_similarity(a, b) for a, b in pairs]

    def _similarity(self, vec: WordVectors, word_pairs, gold) -> float:
        keep = [(i, a, b) for i, (a, b) in enumerate(word_pairs) if a != b]
        if len(keep) < 3:
            return float("nan")
        return spearman([float(vec[a] @ vec[b]) for _, a, b in keep], [gold[i] for i, _, _ in keep])

    def _bars(self, path: Path, rows, chance: float) -> str:
        fig, ax = plot.figure()
        rels = sorted({r[1] for r in rows})
        for k, name in enumerate(("sgns", "glove")):
            vals = [next((r[2] for r in rows if r[0] == name and r[1] == rel), 0.0) for rel in rels]
            vals = [0.0 if v != v else v for v in vals]  # NaN: no question answerable
            ax.bar([i + 0.4 * k for i in range(len(rels))], vals, 0.4, label=name)
        ax.axhline(chance, color="red", linestyle=":", label=f"chance ({chance:.1e})")
        ax.set_xticks([i + 0.2 for i in range(len(rels))], rels, fontsize=8)
        ax.set_ylabel("top-1 accuracy (3CosAdd, whole vocabulary)")
        ax.legend()
        plot.save(fig, path)
        return path.name

"""alchemy: the corpus reaching its size target is the generator's own target (formerly a verdict
check), so it is a unit test; and the held-out set never overlaps the grown corpus."""

from mantissa.experiments.arith_lab.alchemy import Alchemy
from mantissa.tasks.alchemy import mutate_corpus, seed_corpus


def test_mutation_reaches_ten_times_the_seeds_with_distinct_identities():
    seeds = seed_corpus()
    corpus = mutate_corpus(seeds, 10 * len(seeds), seed=0)
    assert len(corpus) == 10 * len(seeds) and len({c.key for c in corpus}) == len(corpus)


def test_held_out_identities_are_new():
    exp = Alchemy()
    cfg = exp.config("smoke", {"held_out": 6})
    seeds = seed_corpus()
    corpus = mutate_corpus(seeds, cfg.growth * len(seeds), seed=0)
    known = {c.key for c in corpus}
    held = exp._held_out(cfg, seeds, known, 0)
    assert len(held) == 6 and not {h.key for h in held} & known

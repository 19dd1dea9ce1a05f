"""Experiment cards: every catalogue experiment is declared by one, and a malformed card is refused."""

import sys
import types
import typing
from pathlib import Path

import pytest

from mantissa.catalogue.cards import card_config, read_card
from mantissa.experiments import EXPERIMENTS, Experiment, Verdict, load_all, register

CATALOGUE = [i for i in load_all() if EXPERIMENTS.get(i).__module__.startswith("mantissa.experiments.")]


def test_every_catalogue_experiment_is_declared_by_its_card():
    import mantissa.experiments as pkg
    cards = sorted(Path(pkg.__file__).parent.glob("*/*.toml"))
    assert len(cards) == len(CATALOGUE)
    for exp_id in CATALOGUE:
        cls = EXPERIMENTS.get(exp_id)
        card = read_card(cls)
        assert {"title", "claim", "paper_figure"} <= set(card), exp_id
        assert "checks" in card or "checks" in cls.__dict__, exp_id  # declared, or computed by the run
        for key, value in card.items():
            assert getattr(cls, "rules" if key == "checks" else key) == value, (exp_id, key)


def _card_module(tmp_path, monkeypatch, text: str) -> str:
    (tmp_path / "card_test_module.toml").write_text(text)
    module = types.ModuleType("card_test_module")
    module.__file__ = str(tmp_path / "card_test_module.py")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module.__name__


CARD = """title = "t"
claim = "c"
paper_figure = "f"
[config]
steps = 3
lr = 0.01
sizes = [1, 2]
name = "x"
[thresholds]
min_gain = 0.5
[scales.smoke]
sizes = [1, 2]
[[checks]]
kind = "gate"
description = "learned"
test = "acc >= 0.9"
[[checks]]
kind = "claim"
description = "gain"
test = "gain > min_gain"
paper = 1.2
[[history]]
date = "2026-01-01"
change = "min_gain 1.0 -> 0.5"
reason = "r"
"""


def test_a_card_declares_an_experiment(tmp_path, monkeypatch):
    module = _card_module(tmp_path, monkeypatch, CARD)
    Carded = type("Carded", (Experiment,), {"id": "card-test", "__module__": module})
    try:
        register(Carded)
        assert Carded.title == "t" and Carded.thresholds == {"min_gain": 0.5}
        assert Carded.scales == {"smoke": {"sizes": (1, 2)}}
        assert [type(r).__name__ for r in Carded.rules] == ["Gate", "Claim"]
        assert Carded.rules[1].paper == 1.2 and Carded.history[0][1] == "min_gain 1.0 -> 0.5"
        assert Carded().verdict({"acc": 0.95, "gain": 0.6}) is Verdict.REPRODUCED
        assert Carded.Config is card_config(module)
        assert Carded().config("quick") == Carded.Config(steps=3, lr=0.01, sizes=(1, 2), name="x")
        assert typing.get_type_hints(Carded.Config) == {"steps": int, "lr": float, "sizes": tuple[int, ...],
                                                        "name": str}
        assert Carded().config("smoke", ["lr=0.5", "sizes=4,5"]).sizes == (4, 5)
    finally:
        EXPERIMENTS._items.pop("card-test", None)


@pytest.mark.parametrize("text, match", [
    ("colour = 1\n" + CARD, "unknown keys \\['colour'\\]"),
    (CARD.replace("paper = 1.2", "papr = 1.2"), "unknown keys \\['papr'\\]"),
    (CARD + "colour = 1\n", "unknown keys \\['colour'\\] in"),
    (CARD.replace('kind = "gate"', 'kind = "Gate"'), "'Gate'"),
    (CARD.replace('reason = "r"\n', ""), "'reason'"),
    (CARD.replace("gain > min_gain", "gain > min_gian"), "min_gian"),
    (CARD.replace("gain > min_gain", "gain >> min_gain"), "is not 'metric op threshold'"),
    (CARD, "its Config is card_config"),  # a card with [config] but a class whose Config is another
])
def test_a_malformed_card_is_refused(tmp_path, monkeypatch, text, match):
    module = _card_module(tmp_path, monkeypatch, text)
    Bad = type("Bad", (Experiment,), {"id": "bad-card-test", "__module__": module})
    if match == "its Config is card_config":
        Bad.Config = type("Other", (), {})
    with pytest.raises((TypeError, ValueError), match=match):
        register(Bad)
    assert "bad-card-test" not in EXPERIMENTS


def test_an_attribute_declared_in_class_and_card_is_refused(tmp_path, monkeypatch):
    module = _card_module(tmp_path, monkeypatch, CARD)
    Twice = type("Twice", (Experiment,), {"id": "twice-test", "title": "other", "__module__": module})
    with pytest.raises(TypeError, match="\\['title'\\] both in its class and its card"):
        register(Twice)



@pytest.mark.parametrize("value", ['[1, "a"]', "[[1], [2]]", "{a = 1}", "2026-01-01"])
def test_a_config_value_mantissa_cannot_type_is_refused(tmp_path, monkeypatch, value):
    module = _card_module(tmp_path, monkeypatch, f"[config]\nodd = {value}\n")
    with pytest.raises(TypeError, match="\\[config\\]"):
        card_config(module)


def test_a_module_without_a_config_table_has_no_card_config(tmp_path, monkeypatch):
    module = _card_module(tmp_path, monkeypatch, 'title = "t"\n')
    with pytest.raises(TypeError, match="no \\[config\\] table"):
        card_config(module)
    with pytest.raises(TypeError, match="no card beside the module"):
        card_config("tests_module_without_a_card")

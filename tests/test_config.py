from dataclasses import dataclass, field
from typing import Literal

import pytest

from mantissa.config import apply_overrides, config_fields, config_keys
from mantissa.errors import ConfigError


@dataclass
class Model:
    n_layer: int = 2
    pe: str = "nope"


@dataclass
class Cfg:
    lr: float = 1e-3
    steps: int = 100
    use_cot: bool = False
    lengths: tuple[int, ...] = (1, 2)
    mode: Literal["plain", "reverse"] = "plain"
    limit: int | None = None
    model: Model = field(default_factory=Model)


def test_overrides_typed():
    cfg = apply_overrides(Cfg(), ["lr=3e-4", "steps=1e3", "use_cot=true", "lengths=3,4,5",
                                  "mode=reverse", "limit=none", "model.n_layer=4"])
    assert cfg.lr == 3e-4 and cfg.steps == 1000 and cfg.use_cot is True
    assert cfg.lengths == (3, 4, 5) and cfg.mode == "reverse" and cfg.limit is None
    assert cfg.model.n_layer == 4 and Cfg().model.n_layer == 2


def test_mapping_overrides_keep_values():
    assert apply_overrides(Cfg(), {"steps": 7}).steps == 7


@pytest.mark.parametrize("bad, words", [
    (["nope=1"], ["unknown config key 'nope'", "model.n_layer", "lr"]),
    (["steps=abc"], ["bad value for 'steps'", "int"]),
    (["steps=1.5"], ["integer"]),
    (["use_cot=maybe"], ["boolean"]),
    (["mode=other"], ["plain", "reverse"]),
    (["lr"], ["malformed override"]),
    (["model=3"], ["group"]),
    (["lr.x=3"], ["no sub-keys"]),
])
def test_bad_overrides(bad, words):
    with pytest.raises(ConfigError) as exc:
        apply_overrides(Cfg(), bad)
    for w in words:
        assert w in str(exc.value)


def test_config_keys():
    assert "model.pe" in config_keys(Cfg())


def test_config_fields_give_type_and_value():
    rows = {key: (tp, value) for key, tp, value in config_fields(Cfg())}
    assert list(rows) == config_keys(Cfg())
    assert rows["lr"] == ("float", 1e-3) and rows["model.pe"] == ("str", "nope")
    assert rows["lengths"] == ("tuple[int, ...]", (1, 2)) and rows["limit"] == ("int | None", None)
    assert rows["mode"][0] == "Literal['plain', 'reverse']"


def test_guess_value_types_spec_text_by_its_look():
    from mantissa.config import guess_value

    assert [guess_value(t) for t in ("true", "False", "8", "-2", "1e-3", "0.5", "int8", "")] == \
        [True, False, 8, -2, 1e-3, 0.5, "int8", ""]
    assert type(guess_value("8")) is int and type(guess_value("8.0")) is float


def test_coerce_types_a_value_as_declared():
    from mantissa.config import coerce

    assert coerce(3, float) == 3.0 and type(coerce(3, float)) is float
    assert coerce("4", int) == 4 and coerce("off", bool) is False and coerce("1,2", tuple[int, ...]) == (1, 2)
    assert coerce("x", str) == "x" and coerce((1, 2), tuple[int, ...]) == (1, 2)
    for value, tp in ((True, int), (1.5, int), ("a", int), (1, str), (1, bool)):
        with pytest.raises((TypeError, ValueError)):
            coerce(value, tp)

import numpy as np
import pytest

from mantissa.errors import ConfigError
from mantissa.tasks import mmeb_digits as mm


def test_answers_and_relations():
    assert [mm.answer("is this digit even or odd", d) for d in (0, 3, 8)] == ["even", "odd", "even"]
    assert [mm.answer("is this digit greater than four", d) for d in (4, 5)] == ["no", "yes"]
    assert mm.target_digit("the digit after this one", 9) == 0
    assert mm.target_digit("the digit before this one", 0) == 9
    assert mm.target_digit("the same digit in another style", 4) == 4


def test_pairs_carry_consistent_keys():
    labels = np.repeat(np.arange(10), 3)
    rng, gl = np.random.default_rng(0), dict(mm.FALLBACK_GLOSSES)
    for p in mm.sample_pairs("compose", labels, 200, rng, gl):
        assert p.c_image != p.q_image
        assert labels[p.c_image] == mm.target_digit(p.q_text, labels[p.q_image]) == p.key - mm.IMAGE_KEY
    for p in mm.sample_pairs("cls", labels, 50, rng, gl):
        assert p.c_text == mm.WORDS[labels[p.q_image]] and p.key == mm.NAME_KEY + labels[p.q_image]
    for p in mm.sample_pairs("t2i", labels, 50, rng, gl):
        assert p.q_image == -1 and p.q_text in mm.digit_texts(gl)[labels[p.c_image]]
    for p in mm.sample_pairs("vqa", labels, 50, rng, gl):
        assert p.c_text == mm.ANSWERS[p.key - mm.ANSWER_KEY] == mm.answer(p.q_text, labels[p.q_image])


def test_eval_queries_cover_each_image():
    labels, gl = np.arange(10), dict(mm.FALLBACK_GLOSSES)
    assert len(mm.eval_queries("cls", labels, gl)) == 10
    assert len(mm.eval_queries("vqa", labels, gl)) == 20
    assert len(mm.eval_queries("compose", labels, gl)) == 30
    assert len(mm.eval_queries("t2i", labels, gl)) == 40
    with pytest.raises(ConfigError):
        mm.sample_pairs("nope", labels, 1, np.random.default_rng(0), gl)

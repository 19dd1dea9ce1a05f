"""A tiny MMEB on scikit-learn digits: instruction-tagged multimodal retrieval pairs.

VLM2Vec (Jiang et al. 2024, "VLM2Vec: Training Vision-Language Models for Massive
Multimodal Embedding Tasks") trains one embedding model on MMEB, where every task is
recast as retrieval: a query (image, text or both, prefixed by the task's instruction)
must find its target (image, text or both) among candidates. The four meta-tasks of
MMEB (classification, VQA, retrieval, grounding) become, on 8x8 digit images:

* ``cls`` (classification, image → text): the digit image → its name ("seven");
* ``vqa`` (image + question → text): "is this digit even or odd" → "even" / "odd",
  "is this digit greater than four" → "yes" / "no";
* ``t2i`` (retrieval, text → image): a text naming the digit (its name, "the number 7",
  or its WordNet gloss "the cardinal number that is the sum of six and one") → an image
  of the digit;
* ``compose`` (composed retrieval, image + text → image): the image with "the same digit
  in another style" / "the digit after this one" / "the digit before this one" → an
  image of that digit (another image than the query).

Images are referred to by index into the caller's image array; nothing here loads
data. Every pair carries a ``key``: equal keys mean interchangeable targets (the same
label text, any image of the digit), used to mask false in-batch negatives and to
score retrieval.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mantissa.errors import ConfigError

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TASK_NAMES = ("cls", "vqa", "t2i", "compose")
INSTRUCTIONS = {
    "cls": "find the name of the digit in the image",
    "vqa": "answer the question about the digit in the image",
    "t2i": "find an image of the digit the text names",
    "compose": "find an image of the digit the text asks for",
}
RELATIONS = {"the same digit in another style": 0, "the digit after this one": 1,
             "the digit before this one": -1}
QUESTIONS = {"is this digit even or odd": ("even", "odd"), "is this digit greater than four": ("no", "yes")}
ANSWERS = ("even", "odd", "no", "yes")
#: glosses used when WordNet is not installed (WordNet's own wording for 2-9)
FALLBACK_GLOSSES = {
    0: "a mathematical element that when added to another number yields the same number",
    1: "the smallest whole number or a numeral representing this number",
    **{d: f"the cardinal number that is the sum of {WORDS[d - 1]} and one" for d in range(2, 10)},
}
IMAGE_KEY, NAME_KEY, ANSWER_KEY = 0, 10, 20  # key = offset + digit / answer index


@dataclass(frozen=True)
class Pair:
    """One query → target pair. ``q_image`` / ``c_image`` index the image array (-1: none)."""

    task: str
    instruction: str
    q_image: int
    q_text: str
    c_image: int
    c_text: str
    key: int


def digit_glosses() -> dict[int, str]:
    """WordNet's gloss of each digit's number synset (the one listing both "seven" and "7");
    :data:`FALLBACK_GLOSSES` where WordNet is not installed."""
    from mantissa.data.wordnet import load_wordnet_glosses, wordnet_available

    if not wordnet_available():
        return dict(FALLBACK_GLOSSES)
    out = dict(FALLBACK_GLOSSES)
    for s in load_wordnet_glosses("n"):
        for d, w in enumerate(WORDS):
            if w in s.lemmas and str(d) in s.lemmas:
                out[d] = s.definition
    return out


def digit_texts(glosses: dict[int, str]) -> dict[int, tuple[str, ...]]:
    """The text forms naming digit ``d`` (t2i queries)."""
    return {d: (WORDS[d], f"the digit {WORDS[d]}", f"the number {d}", glosses[d]) for d in range(10)}


def answer(question: str, digit: int) -> str:
    """The VQA answer text for ``digit``."""
    no_yes = QUESTIONS[question]
    return no_yes[digit % 2] if question.endswith("odd") else no_yes[int(digit > 4)]


def target_digit(relation: str, digit: int) -> int:
    return (digit + RELATIONS[relation]) % 10


def _by_label(labels: np.ndarray) -> list[np.ndarray]:
    return [np.flatnonzero(labels == d) for d in range(10)]


def sample_pairs(task: str, labels: np.ndarray, n: int, rng: np.random.Generator,
                 glosses: dict[int, str]) -> list[Pair]:
    """``n`` random training pairs of ``task`` over images with ``labels``."""
    if task not in TASK_NAMES:
        raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASK_NAMES)}")
    labels = np.asarray(labels)
    pools, texts, instr = _by_label(labels), digit_texts(glosses), INSTRUCTIONS[task]
    if any(len(p) < 2 for p in pools):
        raise ConfigError("every digit needs at least two images")
    out = []
    for _ in range(n):
        i = int(rng.integers(len(labels)))
        d = int(labels[i])
        if task == "cls":
            out.append(Pair(task, instr, i, "", -1, WORDS[d], NAME_KEY + d))
        elif task == "vqa":
            q = list(QUESTIONS)[int(rng.integers(len(QUESTIONS)))]
            a = answer(q, d)
            out.append(Pair(task, instr, i, q, -1, a, ANSWER_KEY + ANSWERS.index(a)))
        elif task == "t2i":
            t = texts[d][int(rng.integers(len(texts[d])))]
            out.append(Pair(task, instr, -1, t, int(rng.choice(pools[d])), "", IMAGE_KEY + d))
        else:
            rel = list(RELATIONS)[int(rng.integers(len(RELATIONS)))]
            td = target_digit(rel, d)
            j = int(rng.choice(pools[td][pools[td] != i]))
            out.append(Pair(task, instr, i, rel, j, "", IMAGE_KEY + td))
    return out


def eval_queries(task: str, labels: np.ndarray, glosses: dict[int, str]) -> list[Pair]:
    """Every test query of ``task``: each image once per question / relation (``cls``: once;
    ``t2i``: each text form of each digit). Targets are described by ``key`` only
    (``c_image = -1``)."""
    labels = np.asarray(labels)
    instr, out = INSTRUCTIONS[task], []
    if task == "t2i":
        return [Pair(task, instr, -1, t, -1, "", IMAGE_KEY + d)
                for d, forms in digit_texts(glosses).items() for t in forms]
    for i, d in enumerate(int(v) for v in labels):
        if task == "cls":
            out.append(Pair(task, instr, i, "", -1, "", NAME_KEY + d))
        elif task == "vqa":
            out += [Pair(task, instr, i, q, -1, "", ANSWER_KEY + ANSWERS.index(answer(q, d)))
                    for q in QUESTIONS]
        elif task == "compose":
            out += [Pair(task, instr, i, r, -1, "", IMAGE_KEY + target_digit(r, d)) for r in RELATIONS]
        else:
            raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASK_NAMES)}")
    return out


def text_candidates(task: str) -> list[tuple[str, int]]:
    """(text, key) candidates of a text-target task (``cls``: the ten names; ``vqa``: the
    four answers)."""
    if task == "cls":
        return [(w, NAME_KEY + d) for d, w in enumerate(WORDS)]
    if task == "vqa":
        return [(a, ANSWER_KEY + k) for k, a in enumerate(ANSWERS)]
    raise ConfigError(f"task {task!r} retrieves images, not texts")

"""Real data and real pretrained models, loaded offline.

* :func:`load_minilm` — the packaged all-MiniLM-L6-v2 (extra ``[real]``);
* :func:`load_sklearn` — scikit-learn's bundled datasets;
* :func:`load_wordnet_glosses` — WordNet synsets from Debian's ``wordnet-base``;
* :func:`load_stdlib_docstrings` — documented functions/classes of the stdlib;
* :func:`embed_corpus` — cached, verified embeddings of a list of texts.
"""

from mantissa.data.cache import cache_dir, embed_corpus
from mantissa.data.docstrings import Docstring, load_stdlib_docstrings
from mantissa.data.minilm import MiniLM, load_minilm, minilm_available
from mantissa.data.sklearn import SKLEARN_DATASETS, Dataset, load_sklearn
from mantissa.data.texts import gloss_sample
from mantissa.data.wordnet import Synset, load_wordnet_glosses, wordnet_available

__all__ = [
    "SKLEARN_DATASETS",
    "Dataset",
    "Docstring",
    "MiniLM",
    "Synset",
    "cache_dir",
    "embed_corpus",
    "gloss_sample",
    "load_minilm",
    "load_sklearn",
    "load_stdlib_docstrings",
    "load_wordnet_glosses",
    "minilm_available",
    "wordnet_available",
]

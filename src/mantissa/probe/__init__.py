"""mantissa.probe — see docs/architecture.md."""

# alignment/uniformity, retrieval metrics, graded similarity
from mantissa.probe.alignment import alignment, uniformity

# relative representations, neural collapse, Observatory, successor heads
from mantissa.probe.collapse import collapse_metrics
from mantissa.probe.observatory import Table, TableEncoder
from mantissa.probe.relative import relative_projection
from mantissa.probe.retrieval_metrics import retrieval_metrics
from mantissa.probe.successor import mod10_probe, succession_score

__all__ = [
    "alignment",
    "uniformity",
    "collapse_metrics",
    "Table",
    "TableEncoder",
    "relative_projection",
    "retrieval_metrics",
    "mod10_probe",
    "succession_score",
]

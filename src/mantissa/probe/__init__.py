"""mantissa.probe — see docs/architecture.md."""

# alignment/uniformity, retrieval metrics, graded similarity
from mantissa.probe.alignment import alignment as alignment  # noqa: E402
from mantissa.probe.alignment import uniformity as uniformity  # noqa: E402

# relative representations, neural collapse, Observatory, successor heads
from mantissa.probe.collapse import collapse_metrics as collapse_metrics  # noqa: E402
from mantissa.probe.observatory import Table as Table  # noqa: E402
from mantissa.probe.observatory import TableEncoder as TableEncoder  # noqa: E402
from mantissa.probe.relative import relative_projection as relative_projection  # noqa: E402
from mantissa.probe.retrieval_metrics import retrieval_metrics as retrieval_metrics  # noqa: E402
from mantissa.probe.successor import mod10_probe as mod10_probe  # noqa: E402
from mantissa.probe.successor import succession_score as succession_score  # noqa: E402

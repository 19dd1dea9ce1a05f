"""mantissa.probe — see ARCHITECTURE.md (docs/architecture.md)."""

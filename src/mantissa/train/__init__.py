"""mantissa.train — see ARCHITECTURE.md (docs/architecture.md)."""

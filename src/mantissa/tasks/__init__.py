"""mantissa.tasks — see ARCHITECTURE.md (docs/architecture.md)."""

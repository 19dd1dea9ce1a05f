"""mantissa.embed — see ARCHITECTURE.md (docs/architecture.md)."""

"""mantissa.formats — see ARCHITECTURE.md (docs/architecture.md)."""

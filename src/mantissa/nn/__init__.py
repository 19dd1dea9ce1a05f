"""mantissa.nn — see ARCHITECTURE.md (docs/architecture.md)."""

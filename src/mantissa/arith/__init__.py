"""mantissa.arith — see ARCHITECTURE.md (docs/architecture.md)."""

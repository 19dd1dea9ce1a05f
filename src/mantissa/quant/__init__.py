"""mantissa.quant — see ARCHITECTURE.md (docs/architecture.md)."""

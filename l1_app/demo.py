"""The offline demo's answers for L1 walks (placeholder: filled in by the demo work)."""

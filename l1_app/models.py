"""Models of l1_app (filled in by later issues)."""

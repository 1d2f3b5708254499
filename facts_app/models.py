"""Models of facts_app (filled in by later issues)."""

"""Models of sessions_app (filled in by later issues)."""

"""Models of flywheel_app (filled in by later issues)."""

"""Pytest plugin: ai fixtures (see conftest.py)."""

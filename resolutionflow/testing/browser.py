"""Pytest plugin: browser fixtures (see conftest.py)."""

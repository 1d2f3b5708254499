"""Pytest plugin: services fixtures (see conftest.py)."""

"""Bundled domain data."""

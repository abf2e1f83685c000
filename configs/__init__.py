"""Packaged default settings (default.toml)."""

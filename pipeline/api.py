"""Temporary: the names other modules still import from here while they move (removed before landing)."""

from vsearch.extract.paths import absolute  # noqa: F401

from .session import index_meta, load_models, sound_name, store_opener  # noqa: F401

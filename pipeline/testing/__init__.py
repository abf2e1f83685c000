"""Helpers for vsearch's tests, benchmarks and evals: generated media, tiny random checkpoints and
deterministic encoders registered through the real registries (like numpy.testing).

Name `vsearch.testing.color_encoder` or `vsearch.testing.tone_encoder` in VSEARCH_PLUGINS to make
the models "test-colors" and "test-tones" loadable by name.
"""

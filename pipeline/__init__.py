"""vsearch: find moments in videos by what is seen and said, in any language."""

__version__ = "0.1.0"

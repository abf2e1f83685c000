"""Errors shared by every layer: their messages are safe to show a user as one line.

The bottom layer owns them so that every layer may raise them; this module imports nothing."""


class VsearchError(Exception):
    """Base for every error the CLI prints as a one-line message."""

    exit_code = 1


class MediaError(VsearchError):
    """A video cannot be read: missing, not a video, corrupt, or without frames."""


class FileChanged(MediaError):
    """A video changed while it was being read; it is left for a later run."""


class SubtitleError(VsearchError):
    """A subtitle file cannot be read or parsed."""


class ToolMissing(VsearchError):
    """A required external program (ffmpeg) cannot be found."""

"""The project's own error types: everything a page shows as a message instead of a traceback."""


class StudioError(Exception):
    """Base class. Its message is written for the person using the app."""


class InputError(StudioError):
    """The user's input cannot be used (empty text, an unreadable image, a bad CSV...)."""


class ModelLoadError(StudioError):
    """A model could not be found or loaded (missing package, corrupt file, offline hub id)."""

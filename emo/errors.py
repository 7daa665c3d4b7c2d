"""The one exception type that carries a message meant for the user."""


class EmoError(Exception):
    """A problem with the user's data, params or environment, stated in one sentence.

    Stage scripts and the CLI print it without a traceback and exit non-zero;
    any other exception is a bug and keeps its traceback.
    """


class ConfigError(EmoError):
    """A params.yaml key is missing, unknown, of the wrong type or out of range."""

"""One exception type for everything a user can fix; the CLI prints its message as a single line."""


class VidstyleError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""

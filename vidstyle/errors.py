"""One exception type for everything a user can fix; the CLI prints its message as a single line."""


class VidstyleError(Exception):
    """A problem with the user's input or environment, with a message that says what to do."""


def check_whole(option: str, value: object, least: int, most: int | None = None, *, name: str = "") -> None:
    """`value` a whole number in [least, most]: TypeError naming `name` (the argument) for another kind,
    VidstyleError in the CLI's words (`option`) out of range. The one wording for the library and the CLI."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name or option} must be a whole number, not {type(value).__name__}.")
    if value < least or (most is not None and value > most):
        span = f"from {least} to {most}" if most is not None else f"of at least {least}"
        raise VidstyleError(f"{option} must be a whole number {span}, not {value}.")

"""Errors raised at the boundary, with the name of the field to fix."""


class SpecError(ValueError):
    """Invalid user input. ``field`` names the flag or YAML path; the CLI exits 2.

    Example
    -------
    >>> str(SpecError("--widths", "must be positive integers, got 0"))
    '--widths: must be positive integers, got 0'
    """

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

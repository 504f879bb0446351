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


def read_yaml(path, field: str, hint: str = ""):
    """Parse a YAML file; a missing file or bad YAML raises :class:`SpecError` on ``field``
    with the line and column of the problem (``hint`` is appended to the missing-file message)."""
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise SpecError(field, f"no such file: {path}{hint}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(field, f"{path} is not valid YAML{where}: {getattr(e, 'problem', e)}") from None

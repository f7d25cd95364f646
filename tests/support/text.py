"""Reading what credproc printed."""


def first_line(text: str) -> str:
    """The first line of ``text`` (credproc's one-line error, or a diagnostic's first line), or ""."""
    return text.splitlines()[0] if text else ""

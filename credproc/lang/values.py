"""Values of the language: a plain value plus `secret` and `unknown` flags (ESC `esc.Value`).

Renderers (to_plain, string_form, go_json) live beside the type in this module.
"""
from dataclasses import dataclass, field
from typing import Any


class Number(str):
    """A JSON number carried as its source text (ESC keeps json.Number): `1.50` stays `1.50`."""

    __slots__ = ()

    def __repr__(self):
        return f"Number({str.__repr__(self)})"


@dataclass
class Value:
    """value: None | bool | Number | str | list[Value] | dict[str, Value].

    An unknown value has value None and may carry `schema` (what it will be once known, e.g. a
    provider's output schema in check mode; None means "anything").
    """

    value: Any = None
    secret: bool = False
    unknown: bool = False
    schema: Any = None
    # Where the value was defined and what it was merged over; owned by the evaluator.
    trace: Any = field(default=None, repr=False, compare=False)

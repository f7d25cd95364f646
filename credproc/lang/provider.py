"""The provider and rotator interface of the language (ESC `provider.go`), and nothing else.

The evaluator receives providers through a ``Mapping[str, Provider]`` (see
credproc.providers.registry) and never names a concrete provider.
"""
from dataclasses import dataclass, field


class ProviderError(Exception):
    """Raised by a provider's open(); ``str(err)`` becomes the diagnostic summary.

    A provider may raise any exception instead (for example a credproc.errors.CredprocError
    subclass with its own exit code); the evaluator records ``str(exc)`` as the summary and keeps the
    exception as ``Diagnostic.cause`` so that callers such as `credproc process` can map it to
    an exit code.
    """


@dataclass(frozen=True)
class OpenContext:
    """What a provider learns about the call site."""

    environment: str        # name the environment holding the fn::open was loaded under (e.g. "dev", "proj/dev")
    root_environment: str   # name of the root environment of this evaluation
    path: str               # property path of the fn::open value, e.g. "aws.login"
    exec_context: dict = field(default_factory=dict)  # the caller-supplied execution context (plain JSON)


class Provider:
    """fn::open::NAME. Subclasses set the schemas and implement open()."""

    #: JSON schema (plain Python: dict, or True/False) of the inputs and of the output.
    input_schema: "dict | bool" = True
    output_schema: "dict | bool" = True
    #: True: check() is also called when some inputs are unknown (they arrive as unknown Values), e.g.
    #: a provider whose `login` input is another provider's output can still check its own settings.
    checks_unknown_inputs: bool = False

    def schema(self):
        return self.input_schema, self.output_schema

    def open(self, inputs, ctx: OpenContext):
        """inputs: a credproc.lang.values.Value (an object, secret flags preserved per member).
        Returns a Value. If the returned Value is secret the evaluator makes every node inside secret."""
        raise NotImplementedError

    def check(self, inputs, ctx: OpenContext) -> None:
        """Optional, credproc's own (ESC's check validates the input schema only): called when
        checking (not opening) with fully known inputs; an exception becomes a diagnostic, as from
        open(). For rules a schema cannot say in a sentence (a misspelled value, an http URL)."""


class Rotator:
    """fn::rotate::NAME."""

    input_schema: "dict | bool" = True
    state_schema: "dict | bool" = True
    output_schema: "dict | bool" = True

    def schema(self):
        return self.input_schema, self.state_schema, self.output_schema

    def open(self, inputs, state, ctx: OpenContext):
        raise NotImplementedError

    def rotate(self, inputs, state, ctx: OpenContext):
        """Returns the new state (a Value)."""
        raise NotImplementedError

"""The ESC environment language. Knows nothing of AWS, the store or the command line.

Pipeline (each stage knows nothing of the ones after it):
    syntax  (YAML bytes -> node tree with file/line/column and document path)
 -> ast     (nodes -> expressions: literals, interpolations, symbols, builtins)
 -> eval    (expressions -> Values with secret/unknown flags, diagnostics)
 -> providers (fn::open / fn::rotate, through an injected Mapping)

Public API (the contract the rest of credproc codes against):

    load(name: str, source: bytes) -> (EnvironmentDecl | None, list[Diagnostic])
        Parse one environment definition. None only when the YAML itself failed
        (syntax error, alias, non-string key, over the size/depth limits).

    evaluate(name, decl, *, loader, providers, rotators, context=None, mode="eval",
             show_secrets=False, decrypter=None) -> (Value | None, list[Diagnostic])
        name:       the name the root is evaluated under ("<yaml>" = anonymous root).
        decl:       from load(); diagnostics of load() are NOT repeated, callers concatenate.
        loader:     callable(name: str) -> bytes for imports and ${environments.P.E};
                    raise EnvironmentNotFound(message) for a missing one (message becomes the summary).
        providers:  Mapping[str, Provider]; rotators: Mapping[str, Rotator].
        context:    caller execution context (plain JSON dict); currentEnvironment/rootEnvironment are added.
        mode:       "eval" (providers called, ciphertext decrypted) or "check" (static: providers
                    not called -> unknown with their output schema; ciphertext unknown unless show_secrets).
        decrypter:  callable(ciphertext: bytes) -> bytes, or None (then ciphertext fails to decrypt).
        Returns the environment's properties (an object Value), or None when there is nothing to
        evaluate (empty definition) or the YAML failed.

    Diagnostic: .severity ("error" | "warning"), .summary, .environment, .line, .column (1-based or
        None), .path (YAML document path such as 'values.a["fn::join"][1]'), .cause (the exception a
        provider raised, else None); .format() -> "ENV:LINE:COL: SUMMARY" (or "ENV: SUMMARY").

    Value (credproc.lang.values): .value is None | bool | Number | str | list[Value] | dict[str, Value];
        .secret, .unknown flags. Helpers in credproc.lang.values:
        to_plain(value, redact: bool) -> plain Python (Number kept; "[secret]"/"[unknown]" markers),
        string_form(value) -> str (ESC string form), go_json(plain, indent=None) -> str (Go json.Marshal /
        MarshalIndent semantics: sorted keys, HTML escaping, numbers verbatim).

Extensions of the contract:

    rotate(name, decl, *, loader, providers, rotators, context=None, decrypter=None, paths=None)
        -> (Value | None, patches, list[Diagnostic])   (ESC RotateEnvironment; see its docstring)
    EnvironmentNotFound, sort_diagnostics(diags), has_errors(diags).

Limits (hostile input ends in a diagnostic, never an exception or a hang):
    * a definition over 1 MiB (syntax.MAX_SOURCE_BYTES) is refused unread by the parser;
    * collections nested deeper than 256 levels (syntax.MAX_DEPTH) are refused;
    * YAML aliases are refused (never expanded), invalid UTF-8 is refused;
    * reference chains deeper than 1500 (eval.MAX_EVAL_DEPTH), strings longer than 8 Mi characters,
      arrays longer than 1 Mi items and results of more than 2 Mi nodes become unknown with an error;
    * one evaluation (the root and all it imports) may produce at most 64 MiB of values
      (eval.EVAL_BUDGET_BYTES); past that it stops with the single error "evaluation exceeds
      credproc's limit of 64 MiB of produced values" at the expression being evaluated, and the
      result is unknown. Counted once, where data is made (see eval.Budget): each value node built
      counts 32 bytes plus its string's characters or its keys' characters; each time an array or
      object is written out in full (interpolated, fn::toJSON, fn::toString, validated, given to a
      provider, returned) its written-out size counts again, so sharing by reference hides nothing;
      decoding invalid fn::fromJSON/fn::fromBase64 input character by character counts 16 bytes a
      character. This bounds memory (a few hundred MB) and time (about a second) for any input;
    * "did you mean" suggestions share an allowance of 2 M edit-distance cells per evaluation;
    * schema checks are memoised per (value node, schema node) and share 250 000 steps per evaluation
      (schema.MAX_VALIDATION_STEPS: a check, a message, a constant compared); past that the evaluation
      stops like the byte budget, with "evaluation exceeds credproc's limit of 250000 schema
      validation steps"; `pattern`s are matched by RE2 (credproc.lang.re2), in linear time.
Importing this package is cheap (no YAML): the heavy stages are imported by load()/evaluate().
"""

from credproc.lang.diagnostics import Diagnostic, EnvironmentNotFound, has_errors, sort_diagnostics

__all__ = ["Diagnostic", "EnvironmentNotFound", "has_errors", "sort_diagnostics", "load", "evaluate", "rotate"]


class _GcPaused:
    """Pause the cyclic garbage collector while building many long-lived objects.

    Loading and evaluation allocate one object per node and keep them all alive; CPython's
    generational collector then rescans them again and again, which made a 10x larger environment
    take ~15x longer. The trees built here hold no reference cycles, so nothing is lost by pausing.
    """

    def __enter__(self):
        import gc

        self._was_enabled = gc.isenabled()
        gc.disable()

    def __exit__(self, *exc):
        import gc

        if self._was_enabled:
            gc.enable()
        return False


def load(name: str, source: bytes):
    """Parse one environment definition: (EnvironmentDecl | None, list[Diagnostic])."""
    from credproc.lang.ast import load_environment  # YAML is imported only when a definition is parsed

    with _GcPaused():
        return load_environment(name, source)


def evaluate(name, decl, *, loader, providers, rotators=None, context=None, mode="eval",
             show_secrets=False, decrypter=None):
    """Evaluate a definition from load(): (Value | None, list[Diagnostic]). See the module docstring."""
    from credproc.lang.eval import evaluate_environment

    with _GcPaused():
        return evaluate_environment(
            name, decl, loader=loader, providers=providers, rotators=rotators or {}, context=context,
            mode=mode, show_secrets=show_secrets, decrypter=decrypter,
        )


def rotate(name, decl, *, loader, providers, rotators, context=None, decrypter=None, paths=None):
    """ESC RotateEnvironment (an extension of the contract above): evaluate like evaluate(), but
    call `rotate` on the root's rotators first (imports are only opened), restricted to the
    rotators at `paths` (property paths relative to `values`; all when empty).

    Returns (Value | None, patches, diagnostics); each patch has .doc_path (the YAML path of the
    rotator's `state`, e.g. 'values.db["fn::rotate::swap"].state') and .state (a Value to write
    there), sorted by doc_path.
    """
    from credproc.lang.eval import rotate_environment

    with _GcPaused():
        return rotate_environment(name, decl, loader=loader, providers=providers, rotators=rotators,
                                  context=context, decrypter=decrypter, paths=paths)

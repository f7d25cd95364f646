"""Glue between the store, the language and the providers: open an environment by name.

API (implemented by the store/env-commands work):

    open_environment(ref: str, *, mode="eval", show_secrets=False, file=None, providers=None)
        -> Opened
    ref:       "ORG/ENV" or "ORG/PROJECT/ENV" (validated by credproc.store.parse_name).
    file:      path of a definition outside the store (its imports still come from the store);
               then the root is evaluated as anonymous "<yaml>" unless a ref is given too.
    providers: Mapping[str, Provider] to use instead of the default registry (the caller may keep
               the instances to inspect them after evaluation).
    Opened: .name (the ref), .value (Value | None), .diagnostics (list[Diagnostic]),
            .files (dict[path -> sha256 hex] of every definition file that was read, root and imports),
            .has_errors (bool), .error_lines() -> list[str] formatted "ORG/ENV:LINE:COL: SUMMARY".

Raises credproc.errors.UsageError for a bad name and ConfigError when the root environment does
not exist.
"""

"""Glue between the store, the language and the providers: open an environment by name.

API (implemented by the store/env-commands work):

    open_environment(ref: str, *, mode="eval", show_secrets=False, file=None, providers=None)
        -> Opened
    ref:       "ORG/ENV" or "ORG/PROJECT/ENV" (validated by credproc.store.store.parse_name), or
               "pulumi:ORG/PROJECT/ENV": opened by the Pulumi service (credproc.store.pulumicloud) in
               either mode, with .records and .bindings for `process` and .files empty.
    file:      path of a definition outside the store (its imports still come from the store);
               then the root is evaluated as anonymous "<yaml>" unless a ref is given too.
    providers: Mapping[str, Provider] to use instead of the default registry (the caller may keep
               the instances to inspect them after evaluation).
    Opened: .name (the ref), .value (Value | None), .diagnostics (list[Diagnostic]),
            .files (dict[path -> sha256 hex] of every definition file that was read, root and imports),
            .has_errors (bool), .error_lines() -> list[str] formatted "ORG/ENV:LINE:COL: SUMMARY".

Raises credproc.errors.UsageError for a bad name and ConfigError when the root environment does
not exist.

Extensions (keyword arguments, all optional):
    org:       with ``file`` and no ``ref``: the organization the file's imports come from. Without
               it, the only organization of the store is used; with none or several, an import
               fails with a "not found" diagnostic that says to pass an organization.
    source:    bytes to evaluate as the root definition instead of reading the store (``env set``
               and ``env edit`` validate a new definition before writing it). The name still says
               where imports come from.
    rotators:  Mapping[str, Rotator] instead of the default registry.
    Opened.lines() -> every diagnostic (errors and warnings) formatted and sorted like ESC;
    warnings carry ``warning: `` before the summary.

Names inside the language are the short names (``ENV``, ``PROJECT/ENV``): the root of ``acme/dev``
is evaluated as ``dev``, so ``${context.currentEnvironment.name}`` is ``dev`` and an import ``a``
is ``acme/a``. Diagnostics get the organization back when printed (``acme/dev:3:5: ...``).

CREDPROC_CONFORMANCE=1 (exactly that value) selects the ESC conformance set-up: the conformance
providers and rotators, the rot128 test decrypter and the context {"pulumi": {"user": {"id":
"USER_123"}}}. Otherwise the context is {"pulumi": {"organization": {"login": ORG}, "user":
{"login": <local user>}}} and static ciphertext cannot be decrypted (a diagnostic says so).
"""
import os
from dataclasses import dataclass, field
from typing import Any

from credproc import settings
from credproc.errors import ConfigError, UsageError, printable
from credproc.store.store import (AmbiguousEnvironment, EnvName, NotInStore, Store, TooLarge, UntrustedStore,
                            is_pulumi_ref, parse_name, parse_org, read_limited, resolve_short, sha256_hex)

ANONYMOUS = "<yaml>"


def conformance_enabled() -> bool:
    return settings.conformance()


@dataclass
class Opened:
    name: str                       # the ref ("ORG/ENV"), or "<yaml>" for an anonymous --file root
    value: Any                      # credproc.lang.values.Value | None
    diagnostics: list
    files: dict = field(default_factory=dict)
    org: "str | None" = None
    # pulumi:ORG/PROJECT/ENV (credproc.store.pulumicloud): opened by the Pulumi service
    records: list = field(default_factory=list)   # awscreds records: expiry of its access keys
    bindings: list = field(default_factory=list)  # cache.Binding: the Pulumi login it was opened with
    remote: bool = False

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.diagnostics)

    def display_environment(self, short: str) -> str:
        """The name a diagnostic is printed under: the short name with its organization."""
        if not short or short == ANONYMOUS or self.org is None:
            return short or self.name
        return f"{self.org}/{short}"

    def format(self, diagnostic) -> str:
        env = self.display_environment(diagnostic.environment)
        summary = diagnostic.summary
        if diagnostic.severity != "error":
            summary = f"{diagnostic.severity}: {summary}"
        summary = " ".join(str(summary).split("\n"))
        where = env if diagnostic.line is None else f"{env}:{diagnostic.line}:{diagnostic.column}"
        return printable(f"{where}: {summary}")  # keys and values of the definition: no raw escapes

    def _sorted(self, diags) -> list:
        from credproc.lang import sort_diagnostics

        return sort_diagnostics(diags)

    def error_lines(self) -> list:
        return [self.format(d) for d in self._sorted(d for d in self.diagnostics if d.severity == "error")]

    def lines(self) -> list:
        return [self.format(d) for d in self._sorted(self.diagnostics)]


class _StoreLoader:
    """The language's loader: short names inside one organization, sha256 of each file read."""

    def __init__(self, store: Store, org: "str | None", files: dict, org_problem: str = ""):
        self.store = store
        self.org = org
        self.files = files
        self.org_problem = org_problem

    def __call__(self, short: str) -> bytes:
        from credproc.lang import EnvironmentNotFound

        if self.org is None:
            raise EnvironmentNotFound(f"environment {short!r} not found: {self.org_problem}")
        try:
            name = resolve_short(self.org, short)
            data, path = self.store.read(name)
        except (NotInStore, TooLarge) as err:
            raise EnvironmentNotFound(str(err)) from None
        except (UntrustedStore, AmbiguousEnvironment) as err:  # the reason and its fix, not "not found"
            raise _with_hint(err) from None
        except (ConfigError, UsageError) as err:  # escapes the store, unreadable
            raise EnvironmentNotFound(f"environment {short!r} not found: {err.message}") from None
        self.files[path] = sha256_hex(data)
        return data


def _with_hint(err: ConfigError) -> ConfigError:
    """The same error with its hint in the message: a diagnostic prints only the message."""
    if not err.hint:
        return err
    return type(err)(f"{err.message} (hint: {err.hint})")


def _no_key_decrypter(ciphertext: bytes) -> bytes:
    raise ValueError(
        "credproc has no key for static ciphertext (fn::secret: {ciphertext: ...}); "
        "write the secret as fn::secret: VALUE instead"
    )


def _local_user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name in the environment or the password database
        return "unknown"


def execution_context(org: "str | None") -> dict:
    if conformance_enabled():
        from credproc.providers.conformance import CONFORMANCE_CONTEXT

        import copy

        return copy.deepcopy(CONFORMANCE_CONTEXT)
    context = {"user": {"login": _local_user()}}
    if org is not None:
        context["organization"] = {"login": org}
    return {"pulumi": context}


def decrypter():
    if conformance_enabled():
        from credproc.providers.conformance import conformance_decrypter

        return conformance_decrypter
    return _no_key_decrypter


def _default_providers():
    from credproc import providers as registry

    return registry.providers(conformance=conformance_enabled())


def _default_rotators():
    from credproc import providers as registry

    return registry.rotators(conformance=conformance_enabled())


def _file_org(store: Store, org: "str | None") -> "tuple[str | None, str]":
    """Organization for the imports of an anonymous --file root, or (None, why not)."""
    if org is not None:
        return parse_org(org), ""
    orgs = store.organizations()
    if len(orgs) == 1:
        return orgs[0], ""
    if not orgs:
        return None, f"the environment store {store.root} has no organization"
    return None, "the store has several organizations: name one (--org ORG) for the imports of --file"


def _read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return read_limited(handle, path)
    except TooLarge as err:
        raise UsageError(str(err)) from None
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: is a directory") from None
    except OSError as err:
        raise UsageError(f"cannot read {path}: {err.strerror or type(err).__name__}") from None


def _root(store: Store, ref, file, org, source, files) -> "tuple[EnvName | None, str, str | None, bytes, str]":
    """(name, language name, org, root bytes, why-no-org) of the root definition."""
    name = parse_name(ref) if ref is not None else None
    if name is not None:
        org_name, why = name.org, ""
        lang_name = name.short
    else:
        if file is None and source is None:
            raise UsageError("no environment name given (expected ORG/ENV or ORG/PROJECT/ENV)")
        org_name, why = _file_org(store, org)
        lang_name = ANONYMOUS
    if source is not None:
        data = source
    elif file is not None:
        data = _read_file(file)
        files[os.path.abspath(file)] = sha256_hex(data)
    else:
        try:
            data, path = store.read(name)
        except NotInStore:
            raise ConfigError(
                f"environment {name.full} not found", hint="see `credproc env ls` or `credproc env init`"
            ) from None
        except TooLarge as err:
            raise ConfigError(str(err)) from None
        files[path] = sha256_hex(data)
    return name, lang_name, org_name, data, why


def open_environment(ref: "str | None", *, mode: str = "eval", show_secrets: bool = False,
                     file: "str | None" = None, providers=None, rotators=None,
                     org: "str | None" = None, source: "bytes | None" = None,
                     store: "Store | None" = None) -> Opened:
    from credproc import lang

    if mode not in ("eval", "check"):
        raise ValueError(f"unknown mode {mode!r}")
    if is_pulumi_ref(ref):  # opened (in either mode) by the Pulumi service: there is no definition here
        if file is not None or source is not None:
            raise UsageError(f"{ref} is an environment of Pulumi Cloud: --file does not go with it")
        from credproc.store.pulumicloud import open_pulumi

        remote = open_pulumi(ref)
        return Opened(name=remote.name.full, value=remote.value, diagnostics=[], files={}, org=remote.name.org,
                      records=remote.records, bindings=remote.bindings, remote=True)
    store = store or Store()
    files: dict = {}
    name, lang_name, org_name, data, why = _root(store, ref, file, org, source, files)
    display = name.full if name is not None else ANONYMOUS
    decl, diagnostics = lang.load(lang_name, data)
    value = None
    if decl is not None:
        value, more = lang.evaluate(
            lang_name, decl,
            loader=_StoreLoader(store, org_name, files, why),
            providers=providers if providers is not None else _default_providers(),
            rotators=rotators if rotators is not None else _default_rotators(),
            context=execution_context(org_name),
            mode=mode, show_secrets=show_secrets, decrypter=decrypter(),
        )
        diagnostics = list(diagnostics) + list(more)
    return Opened(name=display, value=value, diagnostics=list(diagnostics), files=files, org=org_name)

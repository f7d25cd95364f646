"""`credproc env ...`: manage and evaluate the environments of the local store (ESC semantics).

    env init ORG/ENV                 a commented template (refuses to overwrite)
    env ls [ORG]                     the environments of the store (of one organization)
    env rm ORG/ENV [--yes]           remove (asks on a terminal; without one --yes is required)
    env open [ORG/ENV] [PATH] [--format F] [--show-secrets] [--partial] [--file FILE] [--org ORG]
                                     evaluate, calling providers (secrets "[secret]" unless
                                     --show-secrets; `esc env open` always shows them)
    env get ORG/ENV [PATH] [--value F | --definition] [--show-secrets]
                                     static check: providers not called, secrets redacted;
                                     ESC's markdown report unless --value
    env check ORG/ENV | --file FILE  diagnostics only
    env set ORG/ENV PATH VALUE [--secret] [--string]
                                     set values.PATH; VALUE "-" reads it from stdin
    env edit ORG/ENV                 $VISUAL / $EDITOR on a private copy; written only when valid
    env rotate ORG/ENV [PATH ...]    rotate fn::rotate secrets, write the new state (credproc.commands.rotate)

Diagnostics print on stderr as `ORG/ENV:LINE:COL: SUMMARY`, sorted like ESC, warnings with
`warning: ` before the summary; any error diagnostic makes the command exit 2 and print nothing
on stdout (with `--partial`, `env open` still prints what did evaluate, unknowns as "[unknown]").

The dotenv and shell formats quote values so that eval'ing them runs nothing (credproc.store.render);
entries they leave out (a key that is not a variable name, a value with NUL) are warned about on
stderr as `credproc: warning: ...`.

`env open --file FILE` evaluates a definition that is not in the store as the anonymous root
"<yaml>"; its imports come from the store, in the organization given by --org, else by a
first argument ORG/ENV (then the file is evaluated under that name), else the store's only
organization.
"""
import os
import sys

from credproc.errors import ConfigError, DiagnosticsError, LockTimeout, UsageError
from credproc.commands import envout


def register(subparsers) -> None:
    from credproc import paths

    parser = subparsers.add_parser(
        "env", help="manage and evaluate environments (ESC language)",
        description="Manage and evaluate the environments of the local store: $CREDPROC_ENV_DIR, else "
                    "environments/ in the user config directory (on Linux $XDG_CONFIG_HOME/credproc/environments, "
                    "default ~/.config/credproc/environments). CREDPROC_CONFIG_DIR does not move it (that "
                    "variable moves the issuer key, install records and file-stored logins). "
                    f"Here: {paths.env_dir()}. ORG/ENV is <store>/ORG/ENV.yaml, "
                    "ORG/PROJECT/ENV is <store>/ORG/PROJECT/ENV.yaml; imports and ${environments.P.E} "
                    "resolve inside the same organization.",
        epilog="Diagnostics print on stderr as ORG/ENV:LINE:COL: SUMMARY (warnings as "
               "ORG/ENV:LINE:COL: warning: SUMMARY), sorted like ESC. Any error diagnostic, bad name or "
               "bad argument exits 2 with a last line `credproc: MESSAGE`. Definitions over 1 MiB are refused.",
    )
    sub = parser.add_subparsers(dest="env_command", metavar="COMMAND")
    _add_init(sub)
    _add_ls(sub)
    _add_rm(sub)
    _add_open(sub)
    _add_get(sub)
    _add_check(sub)
    _add_set(sub)
    _add_edit(sub)
    from credproc.commands import rotate  # a module of its own

    rotate.add_parser(sub)
    parser.set_defaults(func=lambda args: _missing_subcommand(parser))


def _missing_subcommand(parser) -> int:
    raise UsageError("env needs a sub-command: init, ls, rm, open, get, check, set, edit or rotate", hint="credproc env --help")


# --- argument parsers ------------------------------------------------------------------------------

def _add_init(sub) -> None:
    p = sub.add_parser("init", help="create an environment from a commented template",
                       description="Create ORG/ENV from a commented template showing fn::open::aws-login and "
                                   "environmentVariables, with the token source you choose. Refuses to overwrite "
                                   "an existing environment.")
    p.add_argument("name", metavar="ORG/ENV")
    p.add_argument("--template", choices=sorted(TOKEN_TEMPLATES) + sorted(CLOUD_TEMPLATES), default="local",
                   help="where the OIDC token comes from (default: local, credproc's own issuer), or the cloud "
                        "of a template of its own (" + ", ".join(sorted(CLOUD_TEMPLATES)) + ")")
    p.set_defaults(func=init_command)


def _add_ls(sub) -> None:
    p = sub.add_parser("ls", help="list environments", description="List the environments of the store.")
    p.add_argument("org", nargs="?", metavar="ORG")
    p.set_defaults(func=ls_command)


def _add_rm(sub) -> None:
    p = sub.add_parser("rm", help="remove an environment",
                       description="Remove ORG/ENV. Asks on a terminal; elsewhere --yes is required.")
    p.add_argument("name", metavar="ORG/ENV")
    p.add_argument("--yes", "-y", action="store_true", help="do not ask")
    p.set_defaults(func=rm_command)


def _add_open(sub) -> None:
    from credproc.store.render import FORMATS

    p = sub.add_parser(
        "open", help="evaluate an environment (providers are called)",
        description="Evaluate ORG/ENV, calling providers, and print it; secrets print as \"[secret]\" unless "
                    "--show-secrets (`esc env open` always shows them). "
                    "With any error diagnostic: diagnostics on stderr, nothing on stdout, exit 2.",
    )
    p.add_argument("args", nargs="*", metavar="ORG/ENV [PATH]",
                   help="environment, then an optional property path such as a.b[0][\"c.d\"]")
    p.add_argument("--format", "-f", default="json", choices=FORMATS, metavar="FORMAT",
                   help=f"output format: {', '.join(FORMATS)} (default json)")
    p.add_argument("--show-secrets", action="store_true",
                   help="show secret values (needed, e.g., for eval \"$(credproc env open ORG/ENV --format shell "
                        "--show-secrets)\")")
    p.add_argument("--partial", action="store_true",
                   help="with errors, still print what evaluated (unknowns as \"[unknown]\"); exit 2")
    p.add_argument("--file", metavar="FILE",
                   help="evaluate this definition instead of one from the store: as the anonymous root "
                        "\"<yaml>\", or under ORG/ENV when a first argument containing '/' names one; its "
                        "imports come from the store (organization: --org, else ORG of ORG/ENV, else the "
                        "store's only organization)")
    p.add_argument("--org", metavar="ORG", help="with --file: the organization its imports come from")
    p.set_defaults(func=open_command)


GET_VALUE_FORMATS = ("dotenv", "json", "detailed", "shell", "string")  # esc env get --value (no yaml)


def _add_get(sub) -> None:
    p = sub.add_parser(
        "get", help="show an environment without calling providers",
        description="Statically check ORG/ENV (providers are not called: their results are \"[unknown]\") "
                    "and print ESC's report: the value as JSON, the definition and, for a PATH, where it is "
                    "defined; secrets are redacted as \"[secret]\" unless --show-secrets. As `esc env get`, "
                    "diagnostics are not printed (one warning line says how many errors there are: see "
                    "`credproc env check`).",
    )
    p.add_argument("name", metavar="ORG/ENV")
    p.add_argument("path", nargs="?", metavar="PATH")
    p.add_argument("--value", default="", metavar="FORMAT",
                   help="print just the value in this format: dotenv, json, detailed, shell or string")
    p.add_argument("--definition", action="store_true", help="print just the definition")
    p.add_argument("--show-secrets", action="store_true", help="show secret values")
    p.set_defaults(func=get_command)


def _add_check(sub) -> None:
    p = sub.add_parser("check", help="print an environment's diagnostics",
                       description="Check ORG/ENV statically; print its diagnostics. Exit 0 when there is no "
                                   "error (warnings allowed), 2 otherwise.")
    p.add_argument("name", nargs="?", metavar="ORG/ENV")
    p.add_argument("--file", metavar="FILE", help="check this definition instead of one from the store")
    p.add_argument("--org", metavar="ORG", help="with --file: the organization its imports come from")
    p.set_defaults(func=check_command)


def _add_set(sub) -> None:
    p = sub.add_parser(
        "set", help="set one value",
        description="Set values.PATH of ORG/ENV to VALUE (a YAML scalar, e.g. 42, true, text). The rest of "
                    "the file, comments included, is kept as it was; the result is checked before it is "
                    "written. VALUE \"-\" reads the value from stdin (keeps secrets out of the process list).",
    )
    p.add_argument("name", metavar="ORG/ENV")
    p.add_argument("path", metavar="PATH")
    p.add_argument("value", metavar="VALUE")
    p.add_argument("--secret", action="store_true",
                   help="store as fn::secret: the exact text of VALUE (like --string)")
    p.add_argument("--string", action="store_true",
                   help="store the exact text of VALUE as a string (no YAML typing, no ${...} interpolation)")
    p.set_defaults(func=set_command)


def _add_edit(sub) -> None:
    p = sub.add_parser(
        "edit", help="edit an environment in $VISUAL / $EDITOR",
        description="Open a private copy of ORG/ENV in $VISUAL or $EDITOR; write it back only when it "
                    "changed and has no error diagnostics (on a terminal you may re-edit).",
    )
    p.add_argument("name", metavar="ORG/ENV")
    p.set_defaults(func=edit_command)


# --- helpers ---------------------------------------------------------------------------------------

def _store():
    from credproc.store.store import Store

    return Store()


# One home for the output helpers, shared with `env rotate` (which cannot import this module).
_print_diagnostics = envout.print_diagnostics
_fail_with_errors = envout.errors_of
_warn = envout.warn
_write_stdout = envout.write_stdout


def _interactive() -> bool:
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _ask(question: str, default: bool) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer:
        return False
    answer = answer.strip().lower()
    if not answer:
        return default
    return answer in ("y", "yes")


# --- init, ls, rm ------------------------------------------------------------------------------------

_INDENT = " " * 10
#: `env init --template NAME`: the token source block of the template (see the README's token sources).
TOKEN_TEMPLATES = {
    "local": ["# token: omitted, so credproc's local issuer signs the token",
              "# (`credproc issuer init --url https://YOUR-HOST/PATH` once, then publish `credproc issuer show`)"],
    "file": ["# A token file another agent keeps fresh (Kubernetes projected service account token):",
             "token: {file: /var/run/secrets/eks.amazonaws.com/serviceaccount/token}"],
    "env": ["# A token in an environment variable (set by your CI system):",
            "token: {env: CI_OIDC_TOKEN}"],
    "command": ["# A program that prints the token (run without a shell). A cached answer is bound to the",
                "# argv and to what bindEnv/bindFiles name: list what the program reads.",
                "token: {command: [my-token-tool, --audience, sts.amazonaws.com], bindEnv: [MY_TOOL_SESSION]}"],
    "github-actions": ["# The GitHub Actions OIDC token (the workflow needs `permissions: id-token: write`):",
                       "token: {githubActions: {audience: sts.amazonaws.com}}"],
    "login": ["# A person's login at your identity provider: `credproc login @@NAME@@` once, silent refresh after.",
              "token:",
              "  login:",
              "    issuer: https://login.example.com   # https; discovery at ISSUER/.well-known/openid-configuration",
              "    clientId: credproc                  # a public (native) client allowing http://127.0.0.1 redirects",
              "    # scopes: [openid, offline_access]",
              "    # flow: auto                        # auto | browser | device"],
}


# Templates of other clouds' login providers: --template NAME -> (file in templates/, what to edit).
CLOUD_TEMPLATES = {
    "azure": ("templates/azure.yaml", "clientId, tenantId and subscriptionId"),
    "gcp": ("templates/gcp.yaml", "project, workloadPoolId, providerId and serviceAccount"),
}


def template_text(name: str, token: str = "local") -> str:
    from importlib import resources

    if token in CLOUD_TEMPLATES:
        text = resources.files("credproc").joinpath(CLOUD_TEMPLATES[token][0]).read_text(encoding="utf-8")
        return text.replace("@@NAME@@", name)
    text = resources.files("credproc").joinpath("templates/env.yaml").read_text(encoding="utf-8")
    others = ", ".join(t for t in sorted(TOKEN_TEMPLATES) if t != token)
    block = TOKEN_TEMPLATES[token] + [f"# (other token sources: `credproc env init --template` {others})"]
    text = text.replace("@@TOKEN@@", "\n".join(_INDENT + line for line in block))
    return text.replace("@@NAME@@", name)


def init_command(args) -> int:
    from credproc.store.store import parse_name

    name = parse_name(args.name)
    store = _store()
    with store.edit_lock(name):
        path = store.create(name, template_text(name.full, args.template).encode("utf-8"))
    then = f"`credproc login {name.full}`" if args.template == "login" else f"`credproc env check {name.full}`"
    what = "roleArn and the login's issuer and clientId" if args.template == "login" else "roleArn"
    what = CLOUD_TEMPLATES[args.template][1] if args.template in CLOUD_TEMPLATES else what
    sys.stderr.write(f"Created {name.full} ({path}): edit {what}, then {then}.\n")
    return 0


def ls_command(args) -> int:
    from credproc.errors import format_error_line

    store = _store()
    names = store.list(args.org)
    for name in names:
        _write_stdout(name + "\n")
    for ambiguity in store.ambiguities(names):  # both files listed (remove one to fix it); said once
        sys.stderr.write(format_error_line(ambiguity).replace("credproc: ", "credproc: warning: ", 1) + "\n")
    return 0


def rm_command(args) -> int:
    from credproc.store.store import parse_name

    name = parse_name(args.name)
    store = _store()
    if not store.exists(name):
        raise ConfigError(f"environment {name.full} not found", hint="see `credproc env ls`")
    if not args.yes:
        if not _interactive():
            raise UsageError(f"not removing {name.full} without confirmation: pass --yes")
        if not _ask(f"remove environment {name.full}? [y/N] ", default=False):
            sys.stderr.write("not removed\n")
            return 0
    with store.edit_lock(name):
        store.remove(name)
    sys.stderr.write(f"removed {name.full}\n")
    return 0


# --- open, get, check ----------------------------------------------------------------------------------

def _open_target(args) -> "tuple[str | None, str | None]":
    """(ref, property path) from the positional arguments of `env open`."""
    from credproc.store.store import parse_name

    positional = list(args.args)
    if len(positional) > 2:
        raise UsageError("too many arguments: expected [ORG/ENV] [PATH]")
    if args.file is None:
        if not positional:
            raise UsageError("no environment name given (expected ORG/ENV or ORG/PROJECT/ENV)")
        return positional[0], (positional[1] if len(positional) > 1 else None)
    if len(positional) == 2:
        return positional[0], positional[1]
    if len(positional) == 1 and "/" in positional[0]:
        try:
            parse_name(positional[0])
            return positional[0], None
        except UsageError:
            pass
    return None, (positional[0] if positional else None)


def open_command(args) -> int:
    from credproc.store.environments import open_environment
    from credproc.store.render import check_format, parse_property_path, render

    ref, path_text = _open_target(args)
    path = parse_property_path(path_text) if path_text is not None else []
    check_format(args.format, path)
    if ref is not None and args.org is not None:
        raise UsageError("--org goes with --file alone (ORG/ENV already names the organization)")
    opened = open_environment(ref, mode="eval", show_secrets=True, file=args.file, org=args.org)
    _print_diagnostics(opened)
    if opened.has_errors and not args.partial:
        raise _fail_with_errors(opened)
    _write_stdout(render(opened.value, args.format, redact=not args.show_secrets, path=path, write_files=True,
                         warn=_warn), secrets=args.show_secrets)
    if opened.has_errors:
        raise _fail_with_errors(opened)
    return 0


def _check_get_options(args, path: list) -> None:
    """As esc env get: --value and --definition exclude each other; --value yaml is unknown."""
    if args.definition and args.value:
        raise UsageError("`--value` and `--definition` flags cannot be used together")
    if args.value and args.value not in GET_VALUE_FORMATS:
        raise UsageError(f"unknown output format {_go_quoted(args.value)}",
                         hint=f"expected one of {', '.join(GET_VALUE_FORMATS)}")
    if args.value in ("dotenv", "shell") and path:
        raise UsageError(f"output format '{args.value}' may not be used with a property path")


def _go_quoted(text: str) -> str:
    from credproc.lang.values import go_quote

    return go_quote(text)


def _warn_dropped(opened) -> None:
    """esc env get drops the check's diagnostics; one line still says they exist."""
    count = len(opened.error_lines())
    if count:
        _warn(f"{opened.name} has {count} error{'s' if count != 1 else ''}; see `credproc env check {opened.name}`")


def get_command(args) -> int:
    from credproc.store.environments import open_environment
    from credproc.store.render import parse_property_path, render

    path = parse_property_path(args.path) if args.path is not None else []
    _check_get_options(args, path)
    opened = open_environment(args.name, mode="check", show_secrets=args.show_secrets)
    if opened.value is None and opened.has_errors:  # not even decoded (ESC fails here too)
        _print_diagnostics(opened)
        raise _fail_with_errors(opened)
    _warn_dropped(opened)
    if args.value:
        _write_stdout(render(opened.value, args.value, redact=not args.show_secrets, path=path,
                             write_files=False, warn=_warn), secrets=args.show_secrets)
        return 0
    _write_stdout(_get_report(args, opened, path), secrets=args.show_secrets)
    return 0


def _get_report(args, opened, path: list) -> str:
    """esc env get's markdown report (or, with --definition, its definition part alone)."""
    from credproc.store import getreport
    from credproc.store.render import plain, select
    from credproc.store.store import parse_ref
    from credproc.lang.values import go_json

    from credproc.lang.syntax import parse_yaml

    name = parse_ref(args.name)
    text = original = _definition_bytes(name).decode("utf-8", "replace")
    if not args.show_secrets:
        text = getreport.redact_secrets(text, parse_yaml(name.full, text.encode("utf-8"))[0])
    if not path:
        definition = getreport.definition_yaml(text)
        if definition is None:  # not a YAML document: ESC shows the raw text alone
            return text if args.definition else getreport.render_report("", text)
        value_json = "" if opened.value is None else go_json(plain(opened.value, not args.show_secrets), indent=2)
        return definition if args.definition else getreport.render_report(value_json, definition)
    if path[0] == "imports":  # ESC: the definition of that part of `imports`, nothing else
        node = _values_node(text, name, path[1:], under="imports")
        definition = getreport.member_definition(text, node) if node is not None else ""
        return definition if args.definition else getreport.render_report("", definition)
    node = _values_node(text, name, path)
    definition = getreport.member_definition(text, node) if node is not None else ""
    value = select(opened.value, path) if opened.value is not None else None
    value_json = "" if value is None else go_json(plain(value, not args.show_secrets), indent=2)
    where = _values_node(original, name, path)  # positions in the file as written
    stack = _defined_at(name, original, where, path)
    return definition if args.definition else getreport.render_report(value_json, definition, stack)


def _definition_bytes(name) -> bytes:
    """The definition `env get` reports on: the store's file, or what Pulumi Cloud keeps for a
    pulumi:ORG/PROJECT/ENV."""
    from credproc.store.store import PulumiName

    if isinstance(name, PulumiName):
        from credproc.store.pulumicloud import definition_text

        return definition_text(name.full)
    return _store().read(name)[0]


def _defined_at(name, text: str, where, path: list) -> list:
    """ESC's `Defined at` lines, read from the definitions (one level of imports): written in the
    root, the root's place then the last import's that also writes it (ESC's expression stack);
    written only in imports, each import that writes it, last first (ESC's value trace)."""
    from credproc.store.store import PulumiName

    if isinstance(name, PulumiName):  # its imports live in Pulumi Cloud too: the root's place only
        return [f"{name.env}:{where.line}:{where.column}"] if where is not None else []
    imported = [(short, node) for short, node in _import_nodes(name, text, path) if node is not None]
    if where is not None:
        own = [f"{name.env}:{where.line}:{where.column}"]
        return own + [f"{short}:{node.line}:{node.column}" for short, node in imported[-1:]]
    return [f"{short}:{node.line}:{node.column}" for short, node in reversed(imported)]


def _import_nodes(name, text: str, path: list) -> list:
    """[(import name, its syntax node at values.PATH or None)] in import order (plain names only)."""
    from credproc.lang.syntax import MappingNode, ScalarNode, SequenceNode, parse_yaml
    from credproc.store.store import NotInStore, resolve_short

    root, _ = parse_yaml(name.full, text.encode("utf-8"))
    imports = next((v for k, v in root.entries if k.value == "imports"), None) \
        if isinstance(root, MappingNode) else None
    out = []
    for item in imports.items if isinstance(imports, SequenceNode) else []:
        if not (isinstance(item, ScalarNode) and isinstance(item.value, str)):
            continue
        try:
            data, _ = _store().read(resolve_short(name.org, item.value))
        except (NotInStore, ConfigError, UsageError):
            continue
        out.append((item.value, _values_node(data.decode("utf-8", "replace"), name, path)))
    return out


def _values_node(text: str, name, path: list, under: str = "values"):
    """The syntax node at values.PATH of the definition (None when it is not written there)."""
    from credproc.lang.syntax import MappingNode, SequenceNode, parse_yaml

    node, _ = parse_yaml(name.full, text.encode("utf-8"))
    for key in [under] + list(path):
        if isinstance(node, MappingNode) and isinstance(key, str):
            node = next((v for k, v in node.entries if k.value == key), None)
        elif isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.items):
            node = node.items[key]
        else:
            return None
    return node


def check_command(args) -> int:
    from credproc.store.environments import open_environment

    if args.name is None and args.file is None:
        raise UsageError("no environment name given (expected ORG/ENV, or --file FILE)")
    opened = open_environment(args.name, mode="check", file=args.file, org=args.org)
    _print_diagnostics(opened)
    if opened.has_errors:
        raise _fail_with_errors(opened)
    return 0


# --- set, edit -----------------------------------------------------------------------------------------

def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"cannot edit {name}: the file is not valid UTF-8; fix it with `credproc env edit`") from None


def _new_errors(before, after) -> list:
    """Error diagnostics of ``after`` that ``before`` did not have (compared by environment and summary:
    positions move when lines are added)."""
    from collections import Counter

    old = Counter((d.environment, d.summary) for d in (before.diagnostics if before else []) if d.severity == "error")
    fresh = []
    for d in after.diagnostics:
        key = (d.environment, d.summary)
        if d.severity != "error":
            continue
        if old[key]:
            old[key] -= 1
        else:
            fresh.append(d)
    return fresh


def _read_value(args) -> str:
    if args.value != "-":
        return args.value
    text = sys.stdin.read()
    return text[:-1] if text.endswith("\n") else text


def set_command(args) -> int:
    from credproc.store import yamledit
    from credproc.store.render import parse_property_path
    from credproc.store.store import parse_name

    name = parse_name(args.name)
    path = parse_property_path(args.path)
    if not path:
        raise UsageError("PATH is empty: name the value to set, e.g. aws.region")
    text = yamledit.scalar_text(_read_value(args), as_string=args.string or args.secret)
    store = _store()
    with store.edit_lock(name):  # read, edit, check and replace as one step: no concurrent set is lost
        old_bytes, before = _read_checked(store, name)
        new_text = yamledit.set_value(_decode(old_bytes or b"", name.full), path, text, secret=args.secret)
        new_bytes = new_text.encode("utf-8")
        _refuse_new_errors(store, name, before, new_bytes)
        _write_checked(store, name, old_bytes, new_bytes)
    sys.stderr.write(f"set {yamledit.format_path(path)} in {name.full}\n")
    return 0


def _read_checked(store, name) -> "tuple[bytes | None, object]":
    """(bytes, their diagnostics) of the definition as it is now; (None, None) when there is none."""
    from credproc.store.environments import open_environment
    from credproc.store.store import NotInStore

    try:
        old_bytes, _ = store.read(name)
    except NotInStore:
        return None, None
    return old_bytes, open_environment(name.full, mode="check", source=old_bytes, store=store)  # the very bytes edited


def _refuse_new_errors(store, name, before, new_bytes: bytes) -> None:
    from credproc.store.environments import open_environment

    after = open_environment(name.full, mode="check", source=new_bytes, store=store)
    fresh = _new_errors(before, after)
    if fresh:
        for d in fresh:
            sys.stderr.write(after.format(d) + "\n")
        raise DiagnosticsError(f"not written: the change would give {name.full} new errors",
                               [after.format(d) for d in fresh])


def _write_checked(store, name, old_bytes, new_bytes) -> None:
    """Write unless the file changed since it was read (a concurrent edit is never overwritten).
    Call under store.edit_lock(name): then no other credproc writes between the check and the write."""
    from credproc.store.store import NotInStore

    try:
        current, _ = store.read(name)
    except NotInStore:
        current = None
    if current != old_bytes:  # None (no file) on either side compares too
        raise ConfigError(f"{name.full} changed while it was being edited; nothing written")
    store.write(name, new_bytes)


def _editor_argv() -> list:
    import shlex

    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        argv = shlex.split(editor)
    except ValueError as err:
        raise UsageError(f"cannot parse $VISUAL/$EDITOR: {err}") from None
    if not argv:
        raise UsageError("$VISUAL/$EDITOR is empty")
    return argv


def _run_editor(argv: list, path: str) -> None:
    import subprocess

    try:
        code = subprocess.call(argv + [path])
    except FileNotFoundError:
        raise UsageError(f"editor {argv[0]!r} not found (set $VISUAL or $EDITOR)") from None
    if code != 0:
        raise UsageError(f"the editor exited with status {code}; nothing written")


def edit_command(args) -> int:
    import shutil
    import tempfile

    from credproc.store.store import NotInStore, parse_name

    name = parse_name(args.name)
    store = _store()
    try:
        original, _ = store.read(name)
    except NotInStore:
        raise ConfigError(f"environment {name.full} not found", hint=f"create it: credproc env init {name.full}") from None
    argv = _editor_argv()
    from credproc.commands.run import runner

    # The copy holds the definition's secrets: it lives in the private run directory, named after our
    # pid, so that an edit killed with SIGKILL leaves nothing readable behind for long (the next
    # `env edit` or `run` sweeps it), never in /tmp.
    runner.sweep_stale_runs()
    workdir = tempfile.mkdtemp(prefix=f"{os.getpid()}-{runner.pid_scope()}-edit-", dir=runner.ensure_run_directory())
    keep = False
    try:
        copy = os.path.join(workdir, name.env + ".yaml")
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(original)
        try:
            edited = _edit_until_valid(name, store, argv, copy, original)
        except DiagnosticsError as err:  # an edit with errors is not saved, and not lost either
            keep = True
            err.hint = f"your version is kept in {_keep_copy(copy, workdir)}"
            raise
        if edited is None:
            sys.stderr.write(f"no changes to {name.full}\n")
            return 0
        try:
            with store.edit_lock(name):  # not held while the editor ran: compared with what it was then
                _write_checked(store, name, original, edited)
        except (ConfigError, LockTimeout) as err:
            keep = True  # the user's work must not be lost: say where it is
            raise type(err)(err.message, hint=f"your version is kept in {_keep_copy(copy, workdir)}") from None
        sys.stderr.write(f"saved {name.full}\n")
        return 0
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)


def _keep_copy(copy: str, workdir: str) -> str:
    """Move the edited copy to a private directory no sweep removes; returns its new path."""
    import shutil
    import tempfile

    kept = tempfile.mkdtemp(prefix="kept-edit-", dir=os.path.dirname(workdir))
    target = os.path.join(kept, os.path.basename(copy))
    os.replace(copy, target)
    shutil.rmtree(workdir, ignore_errors=True)
    return target


def _edit_until_valid(name, store, argv: list, copy: str, original: bytes) -> "bytes | None":
    from credproc.store.environments import open_environment

    while True:
        _run_editor(argv, copy)
        with open(copy, "rb") as handle:
            edited = handle.read()
        if edited == original:
            return None
        opened = open_environment(name.full, mode="check", source=edited, store=store)
        if not opened.has_errors:
            return edited
        _print_diagnostics(opened)
        if not _interactive() or not _ask("re-edit? [Y/n] ", default=True):
            raise _fail_with_errors(opened, "would have")

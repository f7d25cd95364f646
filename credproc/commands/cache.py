"""`credproc cache ls [--json]` and `credproc cache clear [ORG/ENV]`: inspect and empty the cache.

Every kind of cached item is listed and cleared: STS answers ("creds"), `process` index entries
("env"), cached ID/access tokens of interactive logins ("login"), and lock files (refresh locks,
environment edit locks and the AWS config file's lock) that no running process holds. `clear` also
removes the private directories of runs (and `env edit`s) whose credproc process is gone (killed with
SIGKILL, say), with the `files` they held (a federated token, say), as the next `run` would.
Nothing secret is ever shown: entries are described by kind, environment (or role, or identity
provider), role ARN, expiry and a key prefix; the stored credentials, answers and tokens are never
read out.
"""
import os
import sys
import time

from credproc import lock
from credproc.errors import UsageError

# "creds": STS results of the aws-login provider; "env": the per-environment index of `credproc process`;
# "login": ID/access tokens of interactive logins (credproc.identity.tokens.login); "secrets": values
# read by aws-secrets / aws-parameter-store (credproc.providers.aws_secrets); "pulumi": environments
# opened by Pulumi Cloud (credproc.store.pulumicloud); "azure": Entra ID access tokens of azure-login
# (credproc.providers.azure_login).
KINDS = ("creds", "env", "login", "secrets", "pulumi", "azure")
KEY_PREFIX_LENGTH = 12


def register(subparsers) -> None:
    parser = subparsers.add_parser("cache", help="show or clear cached credentials (no secrets shown)",
                                   description="Show or clear credproc's credential cache.")
    sub = parser.add_subparsers(dest="cache_command", metavar="ls|clear")
    ls = sub.add_parser("ls", help="list cached entries with time left",
                        description="List cached entries: kind, environment (or role), role ARN, "
                                    "expiry (UTC), time left and key prefix. No secrets are shown.")
    ls.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    ls.set_defaults(func=list_command)
    clear = sub.add_parser("clear", help="remove cached entries (all, or one environment's)",
                           description="Remove every cached entry, or only those of ORG/ENV "
                                       "(and their lock files), and the files left by runs whose "
                                       "credproc was killed (never a live run's); prints how many "
                                       "were removed.")
    clear.add_argument("environment", nargs="?", metavar="ORG/ENV")
    clear.set_defaults(func=clear_command)
    parser.set_defaults(func=lambda args: _missing_subcommand(parser))


def _missing_subcommand(parser) -> int:
    raise UsageError("cache needs a sub-command: ls or clear", hint="credproc cache --help")


# --- describing entries -------------------------------------------------------------------------

def describe(kind: str, key: str, entry: dict, now: float) -> dict:
    """One row: only names, ARNs, times and the key prefix (never credentials)."""
    from credproc import cache

    if kind == "login":
        return _describe_login(key, entry, now)
    left = cache.seconds_left(entry, now)
    role = entry.get("role_arn") if isinstance(entry.get("role_arn"), str) else None
    return {
        "kind": kind,
        "environment": entry_environment(entry) or _environments_of_files(entry),
        "role_arn": role,
        "expiration": entry.get("expiration") if isinstance(entry.get("expiration"), str) else None,
        "seconds_left": None if left is None else int(left),
        "key": key[:KEY_PREFIX_LENGTH],
    }


def _describe_login(key: str, entry: dict, now: float) -> dict:
    """A cached login token: the identity provider and client it is for, and its expiry."""
    from credproc import cache

    exp = entry.get("exp") if isinstance(entry.get("exp"), (int, float)) else None
    issuer, client = entry.get("issuer"), entry.get("client_id")
    return {
        "kind": "login",
        "environment": f"{issuer} ({client})" if isinstance(issuer, str) and isinstance(client, str) else None,
        "role_arn": None,
        "expiration": None if exp is None else cache.format_expiration(exp),
        "seconds_left": None if exp is None else int(exp - now),
        "key": key[:KEY_PREFIX_LENGTH],
    }


def lock_rows() -> list:
    """Lock files, each with whether a running process holds it (a free one is left by a finished
    process: harmless, and `cache clear` removes it)."""
    rows = []
    for path in _lock_files():
        rows.append({"kind": "lock", "environment": None, "role_arn": None,
                     "expiration": None, "seconds_left": None,
                     "key": os.path.basename(path)[:KEY_PREFIX_LENGTH],
                     "held": lock.is_held(path) if path.endswith(".lock") else False, "path": path})
    return rows


def _lock_files() -> list:
    from credproc import cache

    found = []
    locks = os.path.join(cache.cache_root(), "locks")
    try:
        found = sorted(os.path.join(locks, n) for n in os.listdir(locks) if n.endswith((".lock", ".status")))
    except OSError:
        pass
    return found


def entry_environment(entry: dict) -> "str | None":
    """The ORG/ENV (or ORG/PROJECT/ENV) an entry was made for: the root environment that was opened.

    aws-login entries keep it in their key material (org + root_environment, the latter qualified
    with the `default` project); other kinds may name it at the top level."""
    material = entry.get("material") if isinstance(entry.get("material"), dict) else {}
    org = material.get("org")
    root = material.get("root_environment") or material.get("environment")
    if isinstance(org, str) and isinstance(root, str):
        return f"{org}/{root[len('default/'):] if root.startswith('default/') else root}"
    for field in ("environment", "ref"):
        if isinstance(entry.get(field), str) and "/" in entry[field]:
            return entry[field]
    return None


def _environments_of_files(entry: dict) -> "str | None":
    """For a `process` index entry: the store environments it was built from (root and imports), or
    the pulumi:ORG/PROJECT/ENV its Pulumi login binding names."""
    files = entry.get("files") if isinstance(entry.get("files"), dict) else {}
    bindings = entry.get("bindings") if isinstance(entry.get("bindings"), list) else []
    remote = [b[1] for b in bindings if isinstance(b, list) and len(b) == 3 and b[0] == "pulumi"]
    if remote:
        return ",".join(remote)
    from credproc import paths

    root = os.path.abspath(paths.env_dir())
    names = sorted(
        os.path.relpath(path, root)[: -len(".yaml")].replace(os.sep, "/")
        for path in files
        if isinstance(path, str) and path.endswith(".yaml") and path.startswith(root + os.sep)
    )
    return ",".join(names) or None


def _same_environment(a: "str | None", b: str) -> bool:
    """ORG/ENV and ORG/default/ENV are one environment to the issuer (same `sub`)."""
    return a is not None and _qualified(a) == _qualified(b)


def _qualified(name: str) -> str:
    parts = name.split("/")
    return "/".join([parts[0], "default", parts[1]]) if len(parts) == 2 else name


def collect(now: float) -> list:
    from credproc import cache

    rows = []
    for kind in KINDS:
        for key, entry in cache.list_entries(kind):
            rows.append(describe(kind, key, entry, now))
    return rows + lock_rows()


def format_left(seconds: "int | None") -> str:
    if seconds is None:
        return "never expires"
    if seconds <= 0:
        return "expired"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def format_table(rows: list) -> str:
    header = ("KIND", "ENVIRONMENT/ROLE", "ROLE ARN", "EXPIRES (UTC)", "LEFT", "KEY")
    lines = [header]
    for row in rows:
        who = row["environment"] or _role_name(row["role_arn"]) or "-"
        expires = (row["expiration"] or "-").replace("T", " ").replace("Z", "")
        left = ("held by a running credproc" if row["held"] else "free (left by a finished process)") \
            if row["kind"] == "lock" else format_left(row["seconds_left"])
        lines.append((row["kind"], who, row["role_arn"] or "-", expires, left, row["key"]))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines)


def _role_name(arn: "str | None") -> "str | None":
    return arn.rsplit("/", 1)[-1] if arn else None


def list_command(args) -> int:
    rows = collect(time.time())
    if args.json:
        import json

        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif not rows:
        sys.stdout.write("the cache is empty (no credentials, tokens, index entries or lock files)\n")
    else:
        sys.stdout.write(format_table(rows) + "\n")
    return 0


# --- clearing -----------------------------------------------------------------------------------

def clear_command(args) -> int:
    from credproc import cache

    wanted = None
    if args.environment:
        from credproc.store.store import parse_ref

        wanted = parse_ref(args.environment).full  # a bad name is a usage error, not "0 removed"
    removed = 0
    for kind in KINDS:
        if wanted is not None and kind == "login":
            continue  # a login's tokens serve every environment of its identity provider: `logout` ends them
        for key, entry in _matching(kind, wanted):
            if cache.remove_entry(kind, key):
                removed += 1
                _remove_lock(key)
    locks = temp_files = 0
    if wanted is None:
        from credproc.store.render import remove_temp_files

        locks = _remove_orphan_files()
        temp_files = remove_temp_files()  # which environment each came from is not recorded
    runs = _sweep_stale_runs()
    what = f"for {wanted}" if wanted else "in total"
    sys.stdout.write(f"removed {removed} cache entr{'y' if removed == 1 else 'ies'} {what}"
                     + (f" and {locks} unused lock file{'' if locks == 1 else 's'}" if locks else "")
                     + (f" and {runs} director{'y' if runs == 1 else 'ies'} of killed runs" if runs else "")
                     + (f" and {temp_files} file{'' if temp_files == 1 else 's'} `env open` wrote" if temp_files else "")
                     + "\n")
    return 0


def _sweep_stale_runs() -> int:
    """The run directories (0600 `files`: tokens, keys) of runs whose credproc is gone: which
    environment a run opened is not recorded, so a named clear sweeps them too."""
    from credproc.commands.run.runner import sweep_stale_runs

    return sweep_stale_runs()


def _matching(kind: str, wanted: "str | None") -> list:
    from credproc import cache

    entries = cache.list_entries(kind)
    if wanted is None:
        return entries
    return [(key, entry) for key, entry in entries
            if _same_environment(entry_environment(entry), wanted) or _index_of(kind, key, entry, wanted)]


def _index_of(kind: str, key: str, entry: dict, wanted: str) -> bool:
    """Does this `process` index entry (which does not name its environment) belong to ``wanted``?

    Its key is credproc.creds.index.index_key(ref, path, environ) -- but other --path values and environment
    settings give other keys -- so the definition files it was built from decide as well: the entry
    belongs to every environment whose file it read. Clearing too much only costs a re-evaluation;
    clearing too little would keep serving an answer the user wanted gone."""
    if kind != "env":
        return False
    from credproc.creds.index import index_key

    if key == index_key(wanted, None):
        return True
    if _environments_of_files(entry) == wanted:  # pulumi:ORG/PROJECT/ENV, by its login binding
        return True
    files = entry.get("files") if isinstance(entry.get("files"), dict) else {}
    return _definition_path(wanted) in files


def _definition_path(wanted: str) -> "str | None":
    from credproc.store.store import Store, parse_name

    try:
        return Store().path_of(parse_name(wanted))
    except Exception:  # a name the store cannot map: nothing matches by file
        return None


def _remove_lock(key: str) -> None:
    """Remove the key's lock file unless a refresh holds it right now. (A refresher that opened the
    file but has not locked it yet may lock the removed inode: the worst case is one extra STS call,
    never a torn entry, because entries are replaced atomically.)"""
    from credproc import cache

    path = os.path.join(cache.cache_root(), "locks", key + ".lock")
    if os.path.lexists(path) and not lock.is_held(path):
        try:
            os.unlink(path)
        except OSError:
            pass


def _remove_orphan_files() -> int:
    """`clear` with no name empties everything: unreadable entries and leftover temp/lock files too
    (lock files are safe to remove when nobody holds them; a held one is skipped; a status file goes
    with its free lock). Returns how many lock files went."""
    from credproc import cache

    for kind in KINDS:
        cache.clear_kind(kind)
    removed = 0
    for path in _lock_files():
        lock_file = path[: -len(".status")] + ".lock" if path.endswith(".status") else path
        if os.path.lexists(lock_file) and lock.is_held(lock_file):
            continue
        try:
            os.unlink(path)
            removed += path.endswith(".lock")
        except OSError:
            pass
    return removed

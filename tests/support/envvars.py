"""Which environment variables credproc reads, found in its source (for the autouse fixture in
tests/conftest.py, and tests/arch/test_env_isolation.py, which fails when a read is not isolated).

A read is `os.environ.get(K)`, `environ.get(K)` (an `environ` parameter), `os.environ[K]`,
`os.getenv(K)`, `environ.setdefault(K, ...)`, `K in os.environ`. K is resolved when it is a string,
a module constant (a string or a tuple of them), `settings.NAME`, or a loop variable over such a
tuple; otherwise the read is "dynamic" and must be explained in tests/arch.
"""
import ast
import functools
import re
from pathlib import Path

import credproc
from credproc import settings

PACKAGE = Path(credproc.__file__).resolve().parent
# A whole string literal with one of these prefixes names a variable credproc (or botocore for it) reads.
NAMED = re.compile(r"^(CREDPROC|AWS|PULUMI|GITHUB|ACTIONS|GOOGLE)_[A-Z0-9_]+$")


@functools.lru_cache(maxsize=None)
def modules() -> tuple:
    """(dotted name, parsed tree) of every credproc module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("credproc",) + path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        found.append((name, ast.parse(path.read_text(), str(path))))
    return tuple(found)


@functools.lru_cache(maxsize=None)
def named_variables() -> frozenset:
    """Every CREDPROC_/AWS_/PULUMI_/GITHUB_/ACTIONS_/GOOGLE_ name written as a whole string anywhere in
    credproc (a text search: the autouse fixture needs it at start-up, before any parse)."""
    quoted = re.compile(r"""["']((?:CREDPROC|AWS|PULUMI|GITHUB|ACTIONS|GOOGLE)_[A-Z0-9_]+)["']""")
    return frozenset(name for path in PACKAGE.rglob("*.py") for name in quoted.findall(path.read_text())
                     if NAMED.match(name))


@functools.lru_cache(maxsize=None)
def reads() -> tuple:
    """(module, function, line, names or None when dynamic) for every environment read."""
    found = []
    for module, tree in modules():
        found += _Reads(module, tree).collect()
    return tuple(found)


def _is_environ(node) -> bool:
    return (isinstance(node, ast.Name) and node.id == "environ") or \
        (isinstance(node, ast.Attribute) and node.attr == "environ")


def _read_key(node):
    """The key expression when ``node`` reads one variable of the environment, else None."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        func = node.func
        if func.attr in ("get", "setdefault") and _is_environ(func.value):
            return node.args[0]
        if func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os":
            return node.args[0]
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value):
        return node.slice
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
            and _is_environ(node.comparators[0]):
        return node.left
    return None


class _Reads:
    def __init__(self, module: str, tree):
        self.module, self.tree = module, tree
        self.constants = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign)
                          for t in n.targets if isinstance(t, ast.Name)}

    def collect(self) -> list:
        found = []
        for function, loops, node in self._nodes(self.tree, "<module>", {}):
            key = _read_key(node)
            if key is not None:
                found.append((self.module, function, node.lineno, self.resolve(key, loops)))
        return found

    def _nodes(self, node, function, loops):
        """(enclosing function, {loop variable: what it iterates}, node) for every node below ``node``."""
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            inner_loops = dict(loops)
            for loop in [child] + list(getattr(child, "generators", ())):
                if isinstance(loop, (ast.For, ast.comprehension)) and isinstance(loop.target, ast.Name):
                    inner_loops[loop.target.id] = loop.iter
            yield inner, inner_loops, child
            yield from self._nodes(child, inner, inner_loops)

    def resolve(self, node, loops=None, depth=0) -> "frozenset | None":
        loops = loops or {}
        if depth > 3:
            return None
        if isinstance(node, ast.Name) and node.id in loops:
            return self.resolve(loops[node.id], {}, depth + 1)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return frozenset([node.value])
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings":
            return frozenset([getattr(settings, node.attr)])
        if isinstance(node, (ast.Tuple, ast.List)):
            parts = [self.resolve(e, None, depth + 1) for e in node.elts]
            return None if None in parts else frozenset().union(*parts)
        if isinstance(node, ast.Name) and node.id in self.constants:
            return self.resolve(self.constants[node.id], None, depth + 1)
        return None


# --- what the autouse fixture (tests/conftest.py) does with them -----------------------------------

# Pointed into the test's tmp_path (HOME, XDG_*, the AWS files, credproc's directories) or fixed.
SET_BY_FIXTURE = frozenset({
    "HOME", "USERPROFILE", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
    "XDG_RUNTIME_DIR", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "CREDPROC_CACHE_DIR",
    "CREDPROC_CONFIG_DIR", "CREDPROC_ENV_DIR", "AWS_EC2_METADATA_DISABLED", "AWS_PAGER",
})
# Read by credproc under names without those prefixes: the editor of `env edit`, what decides
# whether a login may open a browser.
OTHER_READS = ("VISUAL", "EDITOR", "BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "CI",
               "SSH_CLIENT", "SSH_TTY", "SSH_CONNECTION")
# Read on credproc's behalf by what it runs: urllib and botocore (every HTTP request), and the aws
# CLI / botocore credential chain that the end-to-end tests start (container credentials).
LIBRARY_READS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy",
                 "ALL_PROXY", "all_proxy", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
# Read, deliberately left as they are: the user's name (getpass.getuser, pulumi.user.login) is the
# same inside and outside the tests, and tests compare with it.
AMBIENT = frozenset({"LOGNAME", "USER", "LNAME", "USERNAME"})


def unset_by_fixture(environ) -> frozenset:
    """Every variable credproc reads that the fixture removes (AWS_ENDPOINT_URL_<SERVICE> too)."""
    names = set(settings.READ) | named_variables() | set(OTHER_READS) | set(LIBRARY_READS)
    names |= {name for name in environ if name.startswith("AWS_ENDPOINT_URL")}
    return frozenset(names - SET_BY_FIXTURE)

"""The shape of the package: layers, no import cycles, a stdlib-only hot path.

Read statically from the source (every import, function-level ones included), so the test fails
the moment a module reaches upwards, whether or not that code path runs in the suite.
"""
import ast
import pathlib
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "credproc"

# Lowest first. A module may import its own layer or lower ones, never a higher one.
LAYERS = (
    ("base", ("credproc", "credproc.errors", "credproc.paths", "credproc.settings", "credproc.fsutil", "credproc.cache",
              "credproc.lock", "credproc.templates")),
    ("lang", ("credproc.lang",)),
    ("aws", ("credproc.aws",)),
    ("identity", ("credproc.identity",)),
    ("providers", ("credproc.providers",)),
    ("store", ("credproc.store",)),
    ("creds", ("credproc.creds",)),
    ("commands", ("credproc.commands",)),
    ("cli", ("credproc.cli", "credproc.__main__")),
)
# Layers that know nothing of each other although one sits above the other.
INDEPENDENT = {("lang", "aws"), ("lang", "identity"), ("aws", "identity"), ("aws", "providers"),
               ("aws", "store"), ("aws", "creds")}
MAX_BASE_MODULES = 8
HOT_PATH = "credproc.commands.process"


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def all_modules() -> dict:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(modules: dict, importer: str, is_package: bool, node) -> set:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    base = node.module or ""
    if node.level:
        parts = importer.split(".") if is_package else importer.split(".")[:-1]
        parts = parts[: len(parts) - (node.level - 1)]
        base = ".".join(parts + ([node.module] if node.module else []))
    found = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
    return found or {base}


def imports_of(modules: dict, name: str, module_level_only: bool = False) -> set:
    """Every module `name` imports (credproc or not); with module_level_only, the ones run on import."""
    path = modules[name]
    tree = ast.parse(path.read_text())
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found |= _resolve(modules, name, path.name == "__init__.py", node)
    return found


def layer_of(name: str) -> str:
    best = ("", -1)
    for layer, prefixes in LAYERS:
        for prefix in prefixes:
            inside = name == prefix or (prefix != "credproc" and name.startswith(prefix + "."))
            if inside and len(prefix) > best[1]:
                best = (layer, len(prefix))
    return best[0]


def credproc_graph(module_level_only: bool = False) -> dict:
    modules = all_modules()
    return {name: {m for m in imports_of(modules, name, module_level_only) if m in modules and m != name}
            for name in modules}


def test_every_module_has_a_layer():
    assert [name for name in all_modules() if not layer_of(name)] == []


def test_at_most_eight_modules_directly_under_the_package():
    flat = [p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(flat) <= MAX_BASE_MODULES, sorted(flat)


def test_no_module_imports_a_higher_layer():
    rank = {layer: i for i, (layer, _) in enumerate(LAYERS)}
    upward = []
    for name, deps in credproc_graph().items():
        for dep in deps:
            mine, theirs = layer_of(name), layer_of(dep)
            if rank[theirs] > rank[mine] or (mine, theirs) in INDEPENDENT or (theirs, mine) in INDEPENDENT:
                upward.append(f"{name} ({mine}) imports {dep} ({theirs})")
    assert sorted(upward) == []


def _cycles(graph: dict) -> list:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph[node]):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules_function_level_imports_included():
    assert _cycles(credproc_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_hot_path_imports_only_the_standard_library_when_loaded():
    modules = all_modules()
    seen, todo, foreign = set(), [HOT_PATH], []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for dep in imports_of(modules, name, module_level_only=True):
            if dep in modules:
                todo.append(dep)
            elif dep.split(".")[0] not in sys.stdlib_module_names:
                foreign.append(f"{name} imports {dep}")
    assert foreign == []
    assert {layer_of(name) for name in seen} <= {"base", "creds", "commands"}


@pytest.mark.parametrize("name", ["credproc.store.store", "credproc.lang.eval"])
def test_the_graph_sees_function_level_imports(name):
    assert credproc_graph()[name], f"{name} imports nothing? the import reader is broken"


# --- declared dependencies ---------------------------------------------------------------------------

IMPORT_NAMES = {"pyyaml": "yaml", "google-re2": "re2"}  # distribution name -> the module it provides, where they differ


def _declared_runtime_dependencies() -> list:
    import re

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["project"]
    return [re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]]


def test_every_declared_runtime_dependency_is_imported():
    modules = all_modules()
    imported = {dep.split(".")[0] for name in modules for dep in imports_of(modules, name)}
    unused = [dist for dist in _declared_runtime_dependencies()
              if IMPORT_NAMES.get(dist, dist.replace("-", "_")).split(".")[0] not in imported]
    assert unused == []


def test_package_data_names_files_that_exist():
    tomllib = pytest.importorskip("tomllib")

    data = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    missing = [pattern for pattern in data["credproc"] if not list(PACKAGE.glob(pattern))]
    assert missing == []


# --- settings ----------------------------------------------------------------------------------------

def test_only_settings_reads_credproc_variables():
    """A CREDPROC_* name as a whole string literal (what os.environ.get needs) appears only in
    credproc.settings; names inside longer texts (messages, docs) are fine."""
    import re

    readers = []
    for name, path in all_modules().items():
        if name == "credproc.settings":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"CREDPROC_[A-Z_]+", node.value):
                readers.append(f"{name}: {node.value}")
    assert readers == []


def test_settings_lists_every_credproc_variable_the_package_names():
    import re

    from credproc import settings

    named = set()
    for path in all_modules().values():
        named |= set(re.findall(r"\bCREDPROC_[A-Z_]*[A-Z]\b", path.read_text()))
    assert named - set(settings.READ) == set()

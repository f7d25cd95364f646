"""The test tree stays easy to extend: helpers live in helper modules, never in test files."""
import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parents[1]


def _test_files():
    return [p for p in TESTS.rglob("test_*.py") if "node_modules" not in p.parts]


def _is_test_module(dotted: str) -> bool:
    """A test file, or a conftest (pytest loads several under one name: reach fixtures, not modules)."""
    last = dotted.split(".")[-1]
    return last.startswith("test_") or last == "conftest"


def test_test_files_do_not_import_from_other_test_files():
    found = []
    for path in _test_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            found += [f"{path.relative_to(TESTS)} imports {n}" for n in names if _is_test_module(n)]
    assert found == []


def test_every_test_file_holds_tests():
    empty = [str(p.relative_to(TESTS)) for p in _test_files()
             if not any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name.lower().startswith("test")
                        for n in ast.walk(ast.parse(p.read_text())))]
    assert empty == []

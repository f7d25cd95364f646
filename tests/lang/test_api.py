"""The public API of credproc.lang: cheap to import, diagnostics formatting and ordering."""
import subprocess
import sys

from credproc.lang import Diagnostic, sort_diagnostics


def test_importing_the_package_does_not_import_yaml():
    code = "import sys, credproc.lang; print('yaml' in sys.modules, 'credproc.lang.eval' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_format_with_and_without_position():
    assert Diagnostic("error", "boom", "org/env", 3, 7, "values.a").format() == "org/env:3:7: boom"
    assert Diagnostic("error", "yaml: line 2: bad", "org/env").format() == "org/env: yaml: line 2: bad"


def test_sorting_puts_subject_less_first_then_by_place():
    diags = [Diagnostic("error", "b", "env", 2, 1), Diagnostic("error", "z", "env"),
             Diagnostic("error", "a", "env", 1, 5), Diagnostic("warning", "c", "a-env", 9, 9),
             Diagnostic("error", "y", "env")]
    assert [d.summary for d in sort_diagnostics(diags)] == ["y", "z", "c", "a", "b"]

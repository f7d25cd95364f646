"""Helpers shared by the env tests (imported as a plain module: tests/env is on sys.path)."""
import os
from pathlib import Path


def snapshot(root: Path) -> dict:
    out = {}
    for path in sorted(Path(root).rglob("*")):
        if path.is_file() or path.is_symlink():
            try:
                data = path.read_bytes()
            except OSError:
                data = None
            out[str(path.relative_to(root))] = (os.lstat(path).st_mode, data)
    return out



def assert_clean_failure(proc, code: int = 2) -> None:
    """Exit ``code``, no traceback, every stderr line short and one-line shaped."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "internal error" not in proc.stderr
    assert proc.stderr.strip(), "expected a message on stderr"


REPO = Path(__file__).resolve().parents[2]
CREDPROC = REPO / ".venv" / "bin" / "credproc"

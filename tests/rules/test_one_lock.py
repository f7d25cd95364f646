"""One lock primitive: every file lock credproc takes is credproc.lock's (issue 10 §2: four hand-written
file-lock sites had drifted apart; the AWS config's was the last)."""
import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "credproc"
LOCKING_CALLS = {"flock", "lockf", "locking", "FileLock", "SoftFileLock", "UnixFileLock"}


def _locking_calls(path: pathlib.Path) -> list:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in LOCKING_CALLS:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}")
    return found


def test_only_credproc_lock_takes_file_locks():
    calls = [call for path in sorted(PACKAGE.rglob("*.py")) for call in _locking_calls(path)]
    assert calls and all(call.startswith("credproc/lock.py:") for call in calls), calls


def test_the_aws_config_lock_is_credproc_lock_in_the_private_cache(isolated_env, tmp_path):
    from credproc import lock
    from credproc.aws import profilefile

    config = tmp_path / "config"
    with profilefile.locked(str(config)):
        held = [path for path in (isolated_env.cache_dir / "locks").iterdir() if lock.is_held(str(path))]
    assert len(held) == 1 and not list(tmp_path.glob("config*"))

"""Run an ESC case folder (conformance corpus layout) through the library API.

A folder holds `env.yaml` (the root definition) and other `NAME.yaml` files, loaded by short
name (`foo/bar` -> `foo/bar.yaml`). The rot128 test key decrypts ciphertext; the conformance
providers are used (credproc.providers.conformance).
"""
from pathlib import Path

from credproc.lang import EnvironmentNotFound, evaluate, load
from credproc.lang.values import to_plain

CONTEXT = {"pulumi": {"user": {"id": "USER_123"}}}


def rot128(data: bytes) -> bytes:
    return bytes((b + 128) & 0xFF for b in data)


def make_loader(case_dir: Path):
    def loader(name: str) -> bytes:
        path = case_dir / f"{name}.yaml"
        # names come from the case files: keep them inside the folder
        if ".." in Path(name).parts or not path.is_file():
            raise EnvironmentNotFound(f'environment "{name}" not found')
        return path.read_bytes()

    return loader


def providers_and_rotators():
    from credproc.providers import conformance as c

    providers = {"test": c.TestProvider(), "error": c.ErrorProvider(), "secret-wrapper": c.SecretWrapperProvider(),
                 "bench": c.BenchProvider(), "schema": c.SchemaProvider()}
    rotators = {"swap": c.SwapRotator(), "echo": c.EchoRotator()}
    return providers, rotators


def run_case(case_dir: Path, root_name: str, *, mode="eval", show_secrets=False):
    """(load diagnostics, evaluated Value | None, eval diagnostics)."""
    source = (case_dir / "env.yaml").read_bytes()
    decl, load_diags = load(root_name, source)
    if decl is None:
        return load_diags, None, []
    providers, rotators = providers_and_rotators()
    value, diags = evaluate(root_name, decl, loader=make_loader(case_dir), providers=providers,
                            rotators=rotators, context=CONTEXT, mode=mode, show_secrets=show_secrets,
                            decrypter=rot128)
    return load_diags, value, diags


def rotate_case(case_dir: Path, root_name: str, paths):
    """(load diagnostics, Value | None, patches, rotate diagnostics)."""
    from credproc.lang import rotate

    decl, load_diags = load(root_name, (case_dir / "env.yaml").read_bytes())
    if decl is None:
        return load_diags, None, [], []
    providers, rotators = providers_and_rotators()
    value, patches, diags = rotate(root_name, decl, loader=make_loader(case_dir), providers=providers,
                                   rotators=rotators, context=CONTEXT, decrypter=rot128, paths=paths)
    return load_diags, value, patches, diags


def plain(value, redact):
    """JSON-comparable plain value (numbers as Python numbers)."""
    if value is None:
        return None
    return _numbers(to_plain(value, redact))


def _numbers(v):
    from credproc.lang.values import Number

    if isinstance(v, Number):
        text = str.__str__(v)
        try:
            return float(text)
        except ValueError:
            return text
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict):
        return {k: _numbers(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_numbers(x) for x in v]
    return v

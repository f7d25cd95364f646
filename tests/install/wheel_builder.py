"""Build a pure-Python wheel of the checkout with the standard library only.

The install test must not need the network, and the venv's setuptools (65) cannot build a wheel
without the `wheel` package. A wheel is a zip with a dist-info directory, so we write one.
"""
import base64
import hashlib
import os
import re
import tomllib
import zipfile


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(checkout: str, out_dir: str) -> str:
    with open(os.path.join(checkout, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files = {}
    package_root = os.path.join(checkout, name)
    for dirpath, dirnames, filenames in os.walk(package_root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for filename in filenames:
            if filename.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(dirpath, filename)
            with open(path, "rb") as f:
                files[os.path.relpath(path, checkout).replace(os.sep, "/")] = f.read()
    requires = "".join(f"Requires-Dist: {dep}\n" for dep in project.get("dependencies", []))
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{requires}"
    ).encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    scripts = "".join(f"{k} = {v}\n" for k, v in project.get("scripts", {}).items())
    files[f"{dist_info}/entry_points.txt"] = f"[console_scripts]\n{scripts}".encode()
    record = [_record_line(n, d) for n, d in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    safe = re.sub(r"[^A-Za-z0-9.]+", "_", name)
    wheel_path = os.path.join(out_dir, f"{safe}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return wheel_path

"""Shared fixtures for every credproc test. Other test packages rely on these: keep them stable.

isolated_env (autouse)
    Every test runs with HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME, XDG_DATA_HOME, XDG_STATE_HOME,
    XDG_RUNTIME_DIR, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, CREDPROC_CACHE_DIR,
    CREDPROC_CONFIG_DIR and CREDPROC_ENV_DIR pointing into the test's tmp_path (none of them is
    created, except HOME; credproc must create what it needs with the right modes). Every other
    variable credproc reads is unset, derived from its source by tests/support/envvars.py (so a new
    one is isolated without an edit here): every CREDPROC_* (credproc.settings.READ) and every
    AWS_*, PULUMI_*, GITHUB_*, ACTIONS_* name credproc writes as a string, AWS_ENDPOINT_URL_*,
    VISUAL/EDITOR, the browser hints (BROWSER, DISPLAY, CI, SSH_*), the proxy variables and the
    aws CLI's container-credential variables. tests/arch/test_env_isolation.py fails when credproc
    reads a variable this misses.
    AWS_EC2_METADATA_DISABLED=true and AWS_PAGER="" are set. The fixture yields a namespace with the
    paths: .home, .config_file (AWS_CONFIG_FILE), .credentials_file, .cache_dir, .config_dir, .env_dir.

moto_server (session)
    moto's ThreadedMotoServer on 127.0.0.1, port 0 (a free port); yields its endpoint URL
    "http://127.0.0.1:PORT". State is shared by the whole session: reset what you need
    (POST {url}/moto-api/reset). Its recorder writes to a session temp file (MOTO_RECORDER_FILEPATH),
    so /moto-api/recorder/{reset,start,stop,download}-recording work (see tests/creds/credtest.py: Recorder, FaultProxy).
"""
import os
import types

import pytest

from support import envvars  # which variables credproc reads, found in its source


def pytest_configure(config):
    config.addinivalue_line("markers", "cli: a spec row that also runs through the real command line")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    aws = home / ".aws"
    ns = types.SimpleNamespace(
        home=home,
        config_file=aws / "config",
        credentials_file=aws / "credentials",
        cache_dir=tmp_path / "credproc-cache",
        config_dir=tmp_path / "credproc-config",
        env_dir=tmp_path / "credproc-config" / "environments",
    )
    # setenv first: delenv alone does not record an absent name, and then whatever a test (or
    # credproc run in-process, e.g. CREDPROC_CHAIN) sets would leak into the next test.
    for name in envvars.unset_by_fixture(os.environ):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for xdg, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"),
                     ("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"),
                     ("XDG_RUNTIME_DIR", "run")):
        monkeypatch.setenv(xdg, str(home / sub))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(ns.config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(ns.credentials_file))
    monkeypatch.setenv("CREDPROC_CACHE_DIR", str(ns.cache_dir))
    monkeypatch.setenv("CREDPROC_CONFIG_DIR", str(ns.config_dir))
    monkeypatch.setenv("CREDPROC_ENV_DIR", str(ns.env_dir))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_PAGER", "")
    yield ns


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    recording = tmp_path_factory.mktemp("moto") / "recording.jsonl"
    os.environ["MOTO_RECORDER_FILEPATH"] = str(recording)  # read when moto's recorder is created
    from moto.server import ThreadedMotoServer

    _point_recorder_at(recording)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _point_recorder_at(path) -> None:
    # If moto was imported before this fixture ran, its recorder already chose its file.
    try:
        from moto.moto_api import recorder
    except ImportError:
        return
    if hasattr(recorder, "_location"):
        recorder._location = str(path)

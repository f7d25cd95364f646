"""install/install.sh into a temporary HOME: install, install again, --uninstall, all offline.

The package is a wheel built from the checkout with the standard library (wheel_builder) and installed
with `--no-index --no-deps`: no network. Commands that need credproc's dependencies (uninstall takes
the AWS config lock, which is filelock's) find them through a .pth file naming this venv's
site-packages, which the harness drops into the installed venv.
"""
import os
import subprocess
import sys
import sysconfig

import pytest

from wheel_builder import build_wheel  # tests/install is on sys.path (rootdir-less test dir)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(REPO, "install", "install.sh")
# The interpreter behind this venv (a venv made from a venv's python would nest oddly).
BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)
PIP_OFFLINE = "--no-index --no-deps"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    return build_wheel(REPO, str(tmp_path_factory.mktemp("wheel")))


def snapshot(root):
    """Every path under root, with the symlink targets: to compare before and after."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            found[os.path.relpath(full, root)] = os.readlink(full) if os.path.islink(full) else None
    return found


def install_sh(home, *args, path="/usr/bin:/bin", extra_env=None):
    env = {"HOME": str(home), "PATH": path, "LANG": "C.UTF-8", **(extra_env or {})}
    result = subprocess.run(["bash", SCRIPT, *args], env=env, capture_output=True, text=True, timeout=240)
    _lend_dependencies(home)
    return result


def _lend_dependencies(home):
    """The offline install has no dependencies: let the installed venv import this venv's."""
    for site in (home / ".local/share/credproc/venv/lib").glob("python3*/site-packages"):
        (site / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")


def offline(wheel):
    return ["--no-pipx", "--python", BASE_PYTHON, "--pip-args", PIP_OFFLINE, wheel]


@pytest.mark.timeout(300)
def test_install_twice_then_uninstall_leaves_home_as_it_was(tmp_path, wheel):
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "keep.txt").write_text("the user's own file\n")
    before = snapshot(home)

    first = install_sh(home, *offline(wheel))
    assert first.returncode == 0, first.stdout + first.stderr
    link = home / ".local" / "bin" / "credproc"
    venv = home / ".local" / "share" / "credproc" / "venv"
    assert os.readlink(link) == str(venv / "bin" / "credproc")
    version = subprocess.run([str(link), "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and version.stdout.startswith("credproc "), version.stderr
    # ~/.local/bin is not on this PATH: the script says how to add it.
    assert f'export PATH="{home}/.local/bin:$PATH"' in first.stdout
    installed = snapshot(home)

    second = install_sh(home, *offline(wheel), path=f"{home}/.local/bin:/usr/bin:/bin")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reusing virtual environment" in second.stdout
    assert "not on your PATH" not in second.stdout
    assert snapshot(home).keys() == installed.keys()  # nothing new, nothing lost
    assert os.readlink(link) == str(venv / "bin" / "credproc")

    gone = install_sh(home, "--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "kept (" not in gone.stdout  # nothing kept: no heading with nothing under it
    assert snapshot(home) == before
    assert (home / "notes" / "keep.txt").read_text() == "the user's own file\n"

    again = install_sh(home, "--uninstall")
    assert again.returncode == 0 and "nothing to uninstall" in again.stdout


@pytest.mark.timeout(120)
def test_refuses_to_replace_someone_elses_credproc(tmp_path, wheel):
    home = tmp_path / "home"
    bin_dir = home / ".local" / "bin"
    bin_dir.mkdir(parents=True)
    foreign = bin_dir / "credproc"
    foreign.write_text("#!/bin/sh\necho not ours\n")
    before = snapshot(home)
    result = install_sh(home, *offline(wheel))
    assert result.returncode != 0
    assert "was not installed by this script (use --force" in result.stderr
    assert snapshot(home) == before  # refused before touching anything
    assert foreign.read_text() == "#!/bin/sh\necho not ours\n"


def test_uninstall_keeps_a_link_that_is_no_longer_ours(tmp_path, wheel):
    """If the user re-pointed ~/.local/bin/credproc after installing, --uninstall leaves it alone."""
    home = tmp_path / "home"
    assert install_sh(home, *offline(wheel)).returncode == 0
    link = home / ".local" / "bin" / "credproc"
    link.unlink()
    link.symlink_to("/usr/bin/true")
    result = install_sh(home, "--uninstall")
    assert result.returncode == 0, result.stderr
    assert os.readlink(link) == "/usr/bin/true"
    assert not (home / ".local" / "share" / "credproc").exists()


def test_bad_option_is_one_clear_line(tmp_path):
    result = install_sh(tmp_path, "--frobnicate")
    assert result.returncode != 0
    assert result.stderr.strip() == "credproc-install: error: unknown option --frobnicate (see --help)"


def test_pipx_is_used_when_present_and_undone_by_uninstall(tmp_path):
    """With pipx on PATH the script hands over to it (a recording stand-in here: no network)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    log = tmp_path / "pipx.log"
    pipx = bin_dir / "pipx"
    pipx.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    pipx.chmod(0o755)
    path = f"{bin_dir}:/usr/bin:/bin"
    first = install_sh(home, "--pip-args", "--no-index", "--extras", "demo", REPO, path=path)
    assert first.returncode == 0, first.stdout + first.stderr
    second = install_sh(home, REPO, path=path)
    assert second.returncode == 0, second.stdout + second.stderr
    gone = install_sh(home, "--uninstall", path=path)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    calls = log.read_text().splitlines()
    assert calls == [
        f"install|--force|--python|python3|--pip-args|--no-index|{REPO}[demo]|",
        f"install|--force|--python|python3|{REPO}|",
        "uninstall|credproc|",
    ]
    assert os.listdir(home) == []  # the manifest and the directories made for it are gone


@pytest.mark.timeout(300)
def test_uninstall_removes_credprocs_aws_profiles_and_says_what_it_keeps(tmp_path, wheel):
    """Profiles left pointing at a removed credproc fail with "No such file or directory" (issue 11 §3)."""
    home = tmp_path / "home"
    assert install_sh(home, *offline(wheel)).returncode == 0
    venv_credproc = home / ".local" / "share" / "credproc" / "venv" / "bin" / "credproc"
    aws = home / ".aws"
    aws.mkdir(mode=0o700)
    mine = "[profile mine]\nregion = eu-west-1\n"
    (aws / "config").write_text(mine + f"\n[profile esc-dev]\ncredential_process = {venv_credproc} process acme/dev\n")
    issuer = home / ".config" / "credproc" / "issuer"
    issuer.mkdir(parents=True)
    gone = install_sh(home, "--uninstall")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "removed profile esc-dev" in gone.stdout
    assert (aws / "config").read_text() == mine  # the user's profile stays, byte for byte
    assert f"rm -r '{issuer}'" in gone.stdout and "cached credentials" not in gone.stdout
    assert not venv_credproc.exists()


@pytest.mark.timeout(300)
def test_uninstall_names_a_store_kept_outside_the_config_directory(tmp_path, wheel):
    """Review finding: with CREDPROC_ENV_DIR set, the kept list did not mention the environments."""
    home, store = tmp_path / "home", tmp_path / "team-envs"
    (store / "acme").mkdir(parents=True)
    assert install_sh(home, *offline(wheel)).returncode == 0
    gone = install_sh(home, "--uninstall", extra_env={"CREDPROC_ENV_DIR": str(store)})
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert f"your environments:     rm -r '{store}'" in gone.stdout


@pytest.mark.timeout(300)
def test_uninstall_refuses_when_the_profiles_cannot_be_removed(tmp_path, wheel):
    home = tmp_path / "home"
    assert install_sh(home, *offline(wheel)).returncode == 0
    venv_credproc = home / ".local" / "share" / "credproc" / "venv" / "bin" / "credproc"
    (home / ".aws").mkdir(mode=0o700)
    broken = f"[profile esc-dev]\ncredential_process = {venv_credproc} process acme/dev\n[profile esc-dev]\n"
    (home / ".aws" / "config").write_text(broken)  # botocore refuses duplicate sections
    result = install_sh(home, "--uninstall")
    assert result.returncode != 0
    assert "nothing was uninstalled" in result.stderr and "uninstall-profile NAME" in result.stderr
    assert venv_credproc.exists()


# A PEP 517 backend inside the source directory (backend-path), so pip builds it offline with no build
# requirements. Like setuptools (checked by hand: a plain install.sh run from a checkout left build/ and
# credproc.egg-info in it), it builds in place and leaves build/ and credproc.egg-info behind; the wheel
# is the real one, from the checkout (wheel_builder).
IN_PLACE_BACKEND = """
import os, sys
sys.path.insert(0, {helpers!r})
from wheel_builder import build_wheel as _build


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    os.makedirs(os.path.join("build", "lib", "credproc"), exist_ok=True)
    os.makedirs("credproc.egg-info", exist_ok=True)
    return os.path.basename(_build({repo!r}, wheel_directory))
"""


def source_directory(root):
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "inplace"\nbackend-path = ["."]\n'
        '[project]\nname = "credproc"\nversion = "0.1.0"\n')
    helpers = os.path.dirname(os.path.abspath(__file__))
    (root / "inplace.py").write_text(IN_PLACE_BACKEND.format(helpers=helpers, repo=REPO))
    return root


@pytest.mark.timeout(300)
def test_installing_from_a_source_directory_leaves_no_build_output_in_it(tmp_path):
    """Review finding: a plain install/install.sh (pip install of the checkout) left build/ in the checkout."""
    home = tmp_path / "home"
    source = source_directory(tmp_path / "checkout")
    before = snapshot(source)
    result = install_sh(home, "--no-pipx", "--python", BASE_PYTHON, "--pip-args", PIP_OFFLINE, str(source))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (home / ".local" / "bin" / "credproc").exists()
    after = {path for path in snapshot(source) if "__pycache__" not in path}
    assert after == set(before), sorted(after ^ set(before))

    # A build/ that was there before is the user's: it stays (only what this run created goes).
    (source / "build").mkdir()
    (source / "build" / "mine.txt").write_text("keep\n")
    again = install_sh(home, "--no-pipx", "--python", BASE_PYTHON, "--pip-args", PIP_OFFLINE, str(source))
    assert again.returncode == 0, again.stdout + again.stderr
    assert (source / "build" / "mine.txt").read_text() == "keep\n"
    assert not (source / "credproc.egg-info").exists()

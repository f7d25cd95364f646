"""The files `credproc run` keeps fresh (credproc/commands/run/freshfiles.py), piece by piece: when
it re-opens, how it replaces a file, what a failure does, and the masker learning new secrets.
The whole path, with a real Azure SDK child and a moved clock, is tests/azure/test_azure_run.py."""
import os
import stat
import threading

from credproc.commands.run import freshfiles
from credproc.commands.run.masking import LiveSecrets, SecretMasker
from credproc.errors import StsRefused


class _Provider:
    def __init__(self, *records):
        self.opened = list(records)


def test_valid_until_is_the_earliest_any_provider_recorded():
    providers = {"a": _Provider({"valid_until": 2000.0}, {"valid_until": 1500}), "b": _Provider({"expiration": "x"}),
                 "c": object(), "d": _Provider({"valid_until": True})}
    assert freshfiles.valid_until(providers) == 1500
    assert freshfiles.valid_until({"b": _Provider({"expiration": "2030-01-01T00:00:00Z"})}) is None


def test_next_refresh_is_halfway_but_never_sooner_than_the_minimum():
    assert freshfiles.next_refresh(1000, 1300) == 1150
    assert freshfiles.next_refresh(1000, 1001) == 1000 + freshfiles.MIN_WAIT_SECONDS
    assert freshfiles.next_refresh(1000, None) is None


def test_replace_is_atomic_private_and_leaves_no_temporary(tmp_path):
    directory = tmp_path / "run"
    directory.mkdir(mode=0o700)
    path = directory / "file-x"
    path.write_text("old")
    os.chmod(path, 0o600)
    inode = path.stat().st_ino
    freshfiles.replace_atomically(str(path), "new token")
    assert path.read_text() == "new token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_ino != inode  # renamed over, not rewritten in place (a reader never sees half)
    assert sorted(p.name for p in directory.iterdir()) == ["file-x"]


def _keeper(tmp_path, reopen, said, clock=lambda: 1000.0):
    path = tmp_path / "file-a"
    path.write_text("token-1")
    learned = []
    keeper = freshfiles.FreshFiles("acme/az", {"TOKEN_FILE": str(path), "OTHER": str(tmp_path / "file-b")},
                                   {"TOKEN_FILE": "token-1"}, reopen, 1300.0,
                                   project=lambda value: (value, {value["TOKEN_FILE"]}),
                                   on_secrets=learned.append, clock=clock, say=said.append)
    return keeper, path, learned


def test_a_refresh_teaches_the_masker_then_rewrites_changed_files(tmp_path):
    said = []
    keeper, path, learned = _keeper(tmp_path, lambda: ({"TOKEN_FILE": "token-2"}, 1600.0), said)
    assert keeper.due == 1150.0
    keeper.refresh()
    assert path.read_text() == "token-2"
    assert learned == [{"token-2"}]
    assert not (tmp_path / "file-b").exists()  # an entry the new value does not hold is left alone
    assert keeper.due == 1300.0 and keeper.refreshes == 1 and said == []


def test_a_failed_refresh_keeps_the_file_says_one_line_and_retries_later(tmp_path):
    said = []

    def refused():
        raise StsRefused("Entra ID refused the token exchange: AADSTS70021")

    keeper, path, learned = _keeper(tmp_path, refused, said)
    keeper.refresh()
    assert path.read_text() == "token-1" and learned == []
    assert said == ["credproc: could not refresh the files of acme/az: Entra ID refused the token exchange: "
                    f"AADSTS70021 (next try in {freshfiles.RETRY_SECONDS:g}s)"]
    assert keeper.due == 1000.0 + freshfiles.RETRY_SECONDS


def test_the_thread_refreshes_once_the_clock_passes_the_due_time_and_stops(tmp_path):
    now = [1000.0]
    done = threading.Event()

    def reopen():
        done.set()
        return {"TOKEN_FILE": "token-2"}, 99999.0

    keeper, path, _ = _keeper(tmp_path, reopen, [], clock=lambda: now[0])
    keeper.poll = 0.01
    keeper.start()
    try:
        now[0] = 1200.0  # the clock moves past halfway
        assert done.wait(30)
    finally:
        keeper.stop()
    assert path.read_text() == "token-2"


def test_a_masker_on_live_secrets_masks_what_is_added_later():
    secrets = LiveSecrets({"first-secret"})
    masker = SecretMasker(secrets)
    assert masker.feed(b"first-secret second-secret\n") == b"[secret] second-secret\n"
    secrets.grow({"second-secret"})
    assert masker.feed(b"first-secret second-secret\n") == b"[secret] [secret]\n"

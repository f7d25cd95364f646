"""Files `credproc run` keeps fresh while the command runs.

A `files` entry holding a short-lived credential (a federated token for AZURE_FEDERATED_TOKEN_FILE,
say) would go stale under a long `terraform apply`: tools that re-read such a file (azure-identity
re-reads it every few minutes, Terraform's azurerm on every token request) keep working only if its
content keeps being valid. So, for as long as the command runs:

* when half of the time left to the earliest `valid_until` of what the environment opened has
  passed (a provider says until when its outputs are good: a record in its `opened` list with
  `valid_until`, epoch seconds; providers that say nothing never trigger this), the environment is
  opened again, as `run` opened it (cached answers are reused; tokens are minted anew);
* the new secrets join the masked ones first, then each file whose content changed is replaced
  atomically (a 0600 temporary file in the same private directory, then rename(2)): a reader sees
  the old token or the new one, never half of one;
* a failed reopen is said on stderr in one line and retried RETRY_SECONDS later; the old files stay.

The files are removed with the run's directory when the command ends (runner.TempFiles). The clock
is time.time() read every POLL_SECONDS, so a moved clock (tests/support/clock.py) takes effect.
"""
import os
import sys
import threading
import time

POLL_SECONDS = 1.0
MIN_WAIT_SECONDS = 5.0  # never re-open more often than this, whatever a provider says
RETRY_SECONDS = 30.0
STOP_WAIT_SECONDS = 1.0


def valid_until(providers) -> "float | None":
    """The earliest `valid_until` any built provider recorded while opening (None: nothing expires)."""
    built = providers.built() if hasattr(providers, "built") else dict(providers or {})
    times = [record["valid_until"] for provider in built.values() for record in getattr(provider, "opened", ())
             if isinstance(record, dict) and isinstance(record.get("valid_until"), (int, float))
             and not isinstance(record.get("valid_until"), bool)]
    return min(times) if times else None


def next_refresh(now: float, until: "float | None") -> "float | None":
    if until is None:
        return None
    return now + max(MIN_WAIT_SECONDS, (until - now) / 2)


def replace_atomically(path: str, content: str) -> None:
    """``path`` now holds ``content``: written to a 0600 sibling, then renamed over it."""
    import tempfile

    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(prefix=".fresh-", dir=directory)  # O_EXCL, mode 0600
    try:
        view = memoryview(content.encode("utf-8", "surrogateescape"))
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(temporary)
        raise
    os.close(fd)
    os.replace(temporary, path)


class FreshFiles:
    """A daemon thread that re-opens the environment (``reopen() -> (value, valid_until)``) before
    what it gave expires and rewrites the changed files (``paths``: name -> path). ``on_secrets``
    receives the new secrets before any file holds them (the masker learns them first)."""

    def __init__(self, ref: str, paths: dict, contents: dict, reopen, until: "float | None", *, project,
                 on_secrets, clock=time.time, poll: float = POLL_SECONDS, say=None):
        self.ref = ref
        self.paths = dict(paths)
        self.contents = dict(contents)
        self.reopen = reopen
        self.project = project  # value -> (files {name: content}, secrets)
        self.on_secrets = on_secrets
        self.clock = clock
        self.poll = poll
        self.say = say or (lambda line: (sys.stderr.write(line + "\n"), sys.stderr.flush()))
        self.due = next_refresh(clock(), until)
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="credproc-fresh-files", daemon=True)

    def start(self) -> "FreshFiles":
        if self.due is not None and self.paths:
            self._thread.start()
        return self

    def stop(self) -> None:
        """The command ended: no more refreshes. A refresh under way (a slow token source or Entra)
        is not waited for beyond STOP_WAIT_SECONDS: it writes nothing once stopped, and the thread
        is a daemon, so run's exit is not held up by it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll):
            if self.due is not None and self.clock() >= self.due:
                self.refresh()

    def refresh(self) -> None:
        from credproc.errors import CredprocError

        try:
            value, until = self.reopen()
            if self._stop.is_set():
                return  # the command ended meanwhile: its files are being removed
            files, secrets = self.project(value)
            self.on_secrets(secrets)
            for name, path in self.paths.items():
                if name in files and files[name] != self.contents.get(name) and not self._stop.is_set():
                    replace_atomically(path, files[name])
                    self.contents[name] = files[name]
        except Exception as err:  # noqa: BLE001 - a background thread: said in one line, never a traceback
            if self._stop.is_set():
                return
            self.due = self.clock() + RETRY_SECONDS
            reason = str(err) if isinstance(err, (CredprocError, OSError)) else f"internal error ({type(err).__name__})"
            self.say(f"credproc: could not refresh the files of {self.ref}: {reason} (next try in {RETRY_SECONDS:g}s)")
            return
        self.refreshes += 1
        self.due = next_refresh(self.clock(), until)

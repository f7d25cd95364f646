"""The child's input and output during `credproc run`: passed through, piped, or on a pseudo-terminal.

    direct     -i, or nothing to mask: the child inherits credproc's stdin, stdout and stderr
    pipes      stdin is not a terminal: stdout and stderr come through pipes (one pipe for 2>&1),
               masked, to credproc's own stdout and stderr; stdin is inherited
    terminal   stdin is a terminal: the child gets a pseudo-terminal of its own (its controlling
               terminal, with our terminal's settings and window size) for stdin and for each of
               stdout/stderr that is a terminal for us; the others are pipes as above. Our
               terminal is put in raw mode (keys, Ctrl-C included, go to the child's terminal as
               typed) and restored when the run ends, however it ends. SIGWINCH copies our window
               size to it.

One loop (select) moves every byte, so a child that fills both stdout and stderr never blocks on
us. When the child exits, what it wrote is drained and the run ends, even if a background
grandchild still holds the pipes or the terminal open (it gets EPIPE or a hangup, as it would if
the terminal went away).
"""
import os
import selectors
import signal
import subprocess
import threading
import time

from credproc.commands.run.masking import SecretMasker

READ_SIZE = 1 << 16
DRAIN_QUIET = 0.05  # after the child's exit, stop when its pipes stay silent this long (seconds)
DRAIN_LIMIT = 1.0   # ... or after this long, if a grandchild keeps writing
TAIL_RELEASE = 0.25   # seconds of quiet after which a held tail is released (SecretMasker.release)
ECHO_RELEASE = 0.05  # held-back terminal output that is only the echo of typed keys: shown after this
TYPED_MEMORY = 256   # how many recently typed bytes are remembered to recognize their echo


def _write_fully(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def owns_terminal(fd: int = 0) -> bool:
    """``fd`` is a terminal whose foreground process group is ours: we may change its settings.
    A background job (`credproc run ... &`) would be stopped by SIGTTOU if it tried."""
    try:
        return os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False


def same_file(fd_a: int, fd_b: int) -> bool:
    try:
        a, b = os.fstat(fd_a), os.fstat(fd_b)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


# --- streams ---------------------------------------------------------------------------------------

class Output:
    """One source of the child's output (a pipe or the terminal's master side), masked on its way
    to one of our file descriptors."""

    def __init__(self, source: int, destination: int, secrets, *, own_source: bool = True, keyboard=None):
        self.source = source
        self.destination = destination
        self.masker = SecretMasker(secrets)
        self.own_source = own_source
        self.keyboard = keyboard  # on the terminal: whose echo may be released early
        self.open = True
        self.broken = False  # our destination is gone (EPIPE)

    def holds_echo(self) -> bool:
        """The masker holds back a possible start of a secret that is just the echo of the last
        keys typed: without release() a typed "h" (hunter2...) would appear one key late."""
        held = self.masker.pending
        return bool(held) and self.keyboard is not None and self.keyboard.typed.endswith(held)

    def holds_tail(self) -> bool:
        """A tail held back only because it might start a secret: a prompt without a newline
        ("Proceed [Y") must still appear, so it is released after TAIL_RELEASE of quiet. The masker
        shows at most masking.SHORT_TAIL bytes of a possible secret that way (more become [secret])
        and masks the rest of the secret when it comes."""
        return bool(self.masker.pending)

    def release(self) -> None:
        self._emit(self.masker.release())

    def pump(self) -> bool:
        """Move what is readable now; False at the end of the stream (or of our destination)."""
        try:
            chunk = os.read(self.source, READ_SIZE)
        except BlockingIOError:
            return True
        except OSError:  # EIO: the terminal's last holder is gone
            chunk = b""
        if not chunk:
            return False
        self._emit(self.masker.feed(chunk))
        # A broken pipe of ours is passed on (closing the child's pipe); the terminal's output is
        # still read and dropped, or a child writing to it would block forever.
        return not (self.broken and self.own_source)

    def close(self) -> None:
        """Flush what the masker held back; closing a pipe whose reader (us) is gone makes the child
        see the broken pipe, as it would without us."""
        if self.open:
            self.open = False
            self._emit(self.masker.finish())
            if self.own_source:
                os.close(self.source)

    def _emit(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            _write_fully(self.destination, data)
        except OSError:
            self.broken = True


class Input:
    """Our terminal's keystrokes to the child's terminal, through a buffer so that a child that
    does not read its input never blocks us (and so never stops its output from being read)."""

    def __init__(self, source: int, destination: int):
        self.source = source
        self.destination = destination
        self.pending = b""
        self.typed = b""  # the last TYPED_MEMORY bytes typed, to recognize their echo
        self.open = True

    def read(self) -> None:
        try:
            chunk = os.read(self.source, READ_SIZE)
        except OSError:
            chunk = b""
        if not chunk:
            self.open = False
        self.pending += chunk
        self.typed = (self.typed + chunk)[-TYPED_MEMORY:]

    def write(self) -> None:
        try:
            self.pending = self.pending[os.write(self.destination, self.pending):]
        except BlockingIOError:
            pass
        except OSError:
            self.pending, self.open = b"", False


# --- the loop --------------------------------------------------------------------------------------

class Pump:
    """Moves bytes between the child and us until the child has exited and its output is drained."""

    def __init__(self, outputs, keyboard=None):
        self.outputs = list(outputs)
        self.keyboard = keyboard
        self.selector = selectors.DefaultSelector()
        self.exited_r, self.exited_w = os.pipe()

    def child_exited(self) -> None:
        """Called from the waiter thread."""
        os.write(self.exited_w, b"x")

    def run(self) -> None:
        try:
            for output in self.outputs:
                self.selector.register(output.source, selectors.EVENT_READ, output)
            self.selector.register(self.exited_r, selectors.EVENT_READ, "exited")
            self._loop()
            self._drain()
        finally:
            self._stop_keyboard()
            for output in self.outputs:
                output.close()
            self.selector.close()
            _close(self.exited_r, self.exited_w)

    def _loop(self) -> None:
        while True:
            self._watch_keyboard()
            echoes = [output for output in self.outputs if output.open and output.holds_echo()]
            tails = [output for output in self.outputs if output.open and output.holds_tail()]
            timeout = ECHO_RELEASE if echoes else (TAIL_RELEASE if tails else None)
            ready = self.selector.select(timeout)
            if not ready:  # quiet: nothing more is coming to complete a secret in the echo or the tail
                for output in echoes or tails:
                    output.release()
            for key, events in ready:
                if key.data == "exited":
                    return
                self._handle(key)

    def _drain(self) -> None:
        """What the child wrote before exiting is in the pipe: read until EOF, or until the pipes
        stay quiet (a grandchild holds them open), or DRAIN_LIMIT."""
        self._stop_keyboard()
        self.selector.unregister(self.exited_r)
        deadline = time.monotonic() + DRAIN_LIMIT
        while self.selector.get_map() and time.monotonic() < deadline:
            ready = self.selector.select(DRAIN_QUIET)
            if not ready:
                return
            for key, events in ready:
                self._handle(key)

    def _handle(self, key) -> None:
        if isinstance(key.data, Output):
            if not key.data.pump():
                self.selector.unregister(key.fd)
                key.data.close()
        elif key.data == "keyboard":
            self.keyboard.read()
        elif key.data == "to-child":
            self.keyboard.write()

    def _watch_keyboard(self) -> None:
        """Read keys only when the previous ones are delivered; watch the child's terminal for
        room only while some are waiting (Input writes through its own duplicate of the master)."""
        keyboard = self.keyboard
        if keyboard is None:
            return
        self._watch(keyboard.source, keyboard.open and not keyboard.pending, selectors.EVENT_READ, "keyboard")
        self._watch(keyboard.destination, bool(keyboard.pending), selectors.EVENT_WRITE, "to-child")

    def _watch(self, fd: int, wanted: bool, events: int, name: str) -> None:
        registered = fd in self.selector.get_map()
        if wanted and not registered:
            self.selector.register(fd, events, name)
        elif registered and not wanted:
            self.selector.unregister(fd)

    def _stop_keyboard(self) -> None:
        if self.keyboard is not None:
            for fd in (self.keyboard.source, self.keyboard.destination):
                if fd in self.selector.get_map():
                    self.selector.unregister(fd)
            _close(self.keyboard.destination)
            self.keyboard = None


def wait_in_background(child, pump: Pump) -> threading.Thread:
    def wait():
        child.wait()
        pump.child_exited()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread


# --- the three modes -------------------------------------------------------------------------------

def run_direct(argv, executable, env, forwarder) -> int:
    child = subprocess.Popen(argv, executable=executable, env=env, close_fds=True, restore_signals=True)
    forwarder.attach(child)
    return child.wait()


def run_piped(argv, executable, env, secrets, forwarder) -> int:
    """stdout and stderr through masked pipes; stdin inherited."""
    out_r, out_w = os.pipe()
    merged = same_file(1, 2)  # 2>&1: one pipe keeps the child's interleaving
    err_r, err_w = (None, out_w) if merged else os.pipe()
    try:
        child = subprocess.Popen(argv, executable=executable, env=env, stdout=out_w, stderr=err_w,
                                 close_fds=True, restore_signals=True)
    except BaseException:
        _close(out_r, err_r)
        raise
    finally:
        _close(out_w, None if merged else err_w)
    outputs = [Output(out_r, 1, secrets)] + ([] if merged else [Output(err_r, 2, secrets)])
    return _supervise(child, outputs, None, forwarder)


def _supervise(child, outputs, keyboard, forwarder) -> int:
    forwarder.attach(child)
    pump = Pump(outputs, keyboard)
    waiter = wait_in_background(child, pump)
    pump.run()
    waiter.join()
    return child.returncode


def _close(*fds) -> None:
    for fd in fds:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass


# --- terminal mode -----------------------------------------------------------------------------------

class Terminal:
    """Our terminal (stdin) in raw mode for the duration, and the child's pseudo-terminal."""

    def __init__(self, fd: int = 0):
        import termios

        self.fd = fd
        self.saved = termios.tcgetattr(fd)
        self.master, self.follower = os.openpty()
        termios.tcsetattr(self.follower, termios.TCSANOW, self.saved)
        self.copy_window_size()
        self._previous_winch = None

    def copy_window_size(self, *_signal) -> None:
        import fcntl
        import termios

        try:
            size = fcntl.ioctl(self.fd, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
        except OSError:
            pass

    def enter_raw(self) -> None:
        import tty
        import termios

        if threading.current_thread() is threading.main_thread():
            self._previous_winch = signal.signal(signal.SIGWINCH, self.copy_window_size)
        tty.setraw(self.fd, termios.TCSANOW)

    def restore(self) -> None:
        import termios

        if self._previous_winch is not None:
            signal.signal(signal.SIGWINCH, self._previous_winch)
            self._previous_winch = None
        try:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
        except (termios.error, OSError):  # the terminal hung up: nothing left to restore
            pass


def _controlling_terminal_setter():
    """For preexec_fn, run in the child after setsid(): its stdin (the pseudo-terminal) becomes its
    controlling terminal, so Ctrl-C, Ctrl-Z and /dev/tty work there as on a real terminal. Imports
    happen here, in the parent: importing after fork() could deadlock on another thread's lock."""
    import fcntl
    import termios

    ioctl, request = fcntl.ioctl, termios.TIOCSCTTY
    return lambda: ioctl(0, request, 0)


def run_on_terminal(argv, executable, env, secrets, forwarder) -> int:
    import termios

    try:
        terminal = Terminal(0)
    except (termios.error, OSError):  # not a usable terminal after all (hung up, no ptys left)
        return run_piped(argv, executable, env, secrets, forwarder)
    try:
        return _run_on(terminal, argv, executable, env, secrets, forwarder)
    finally:
        terminal.restore()
        _close(terminal.follower, terminal.master)


def _run_on(terminal, argv, executable, env, secrets, forwarder) -> int:
    import fcntl

    out_tty, err_tty = isatty(1), isatty(2)
    pipes = _output_pipes(out_tty, err_tty)
    try:
        child = subprocess.Popen(
            argv, executable=executable, env=env, stdin=terminal.follower,
            stdout=terminal.follower if out_tty else pipes["out"][1],
            stderr=terminal.follower if err_tty else pipes["err"][1],
            close_fds=True, restore_signals=True, start_new_session=True,
            preexec_fn=_controlling_terminal_setter(),
        )
    except BaseException:
        _close(*{pipe[0] for pipe in pipes.values()})
        raise
    finally:
        _close(*{pipe[1] for pipe in pipes.values()})
    _close(terminal.follower)
    terminal.follower = None
    fcntl.fcntl(terminal.master, fcntl.F_SETFL, fcntl.fcntl(terminal.master, fcntl.F_GETFL) | os.O_NONBLOCK)
    keyboard = Input(0, os.dup(terminal.master))
    shown_on = _terminal_output_fd(out_tty, err_tty)
    outputs = [Output(terminal.master, shown_on, secrets, own_source=False, keyboard=keyboard)]
    outputs += [Output(pipe[0], 1 if name == "out" else 2, secrets) for name, pipe in pipes.items()
                if pipe[0] is not None]
    forwarder.terminal_is_raw = True
    terminal.enter_raw()
    return _supervise(child, outputs, keyboard, forwarder)


def _terminal_output_fd(out_tty: bool, err_tty: bool) -> int:
    """Where the child's terminal is shown: our stdout or stderr if one is the terminal; else (both
    redirected: only echo and prompts are left there) the terminal itself through stdin when it is
    open for writing too, as a terminal's stdin usually is; else stderr."""
    import fcntl

    if out_tty or err_tty:
        return 1 if out_tty else 2
    try:
        writable = fcntl.fcntl(0, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
    except OSError:
        writable = False
    return 0 if writable else 2


def _output_pipes(out_tty: bool, err_tty: bool) -> dict:
    """Pipes for the streams that are not terminals for us: name -> (read end, write end); one
    shared pipe when both go to the same file."""
    pipes = {}
    if not out_tty:
        pipes["out"] = os.pipe()
    if not err_tty:
        if "out" in pipes and same_file(1, 2):
            pipes["err"] = (None, pipes["out"][1])
        else:
            pipes["err"] = os.pipe()
    return pipes

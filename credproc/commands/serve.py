"""`credproc serve ORG/ENV [--listen HOST:PORT]`: the environment's AWS credentials from a local
endpoint in the ECS container-credentials protocol (credproc.creds.endpoint), until stopped.
Also the answer source `credproc run --server` uses."""
import sys

from credproc import fsutil
from credproc.errors import ConfigError, UsageError

DEFAULT_LISTEN = "127.0.0.1:0"
REMOTE_FLAG = "--allow-remote-insecure"

DESCRIPTION = """\
Serve the credentials of ORG/ENV (what `credproc process ORG/ENV` prints) to AWS SDKs in the ECS
container-credentials protocol, until stopped with Ctrl-C or SIGTERM. Prints the two variables a
program needs, AWS_CONTAINER_CREDENTIALS_FULL_URI and AWS_CONTAINER_AUTHORIZATION_TOKEN (a new
random token each start, printed nowhere else), then keeps serving: each request is answered from
credproc's cache, refreshed under the refresh lock shortly before the credentials expire, so a
program running for days keeps getting valid keys. Requests without the token are refused (401,
403) and logged on stderr. Listens on 127.0.0.1 and a free port unless --listen says otherwise."""

EPILOG = """\
exit status: 0 when stopped by SIGINT or SIGTERM; 2 for bad arguments or an address that cannot be
used; 3-7 when the first credentials cannot be had (as `credproc process`), before anything is printed."""


def register(subparsers) -> None:
    import argparse

    from credproc.creds.export import EXPORT_FORMATS

    parser = subparsers.add_parser(
        "serve", help="serve ORG/ENV's AWS credentials on a local container-credentials endpoint",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("environment", metavar="ORG/ENV")
    parser.add_argument("--path", help="property path of the credentials to use, e.g. aws.login")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help="IP address and port to listen on (default 127.0.0.1 and a free port)")
    parser.add_argument(REMOTE_FLAG, action="store_true", dest="allow_remote_insecure",
                        help="allow a --listen address other than loopback: anyone who can reach it and "
                             "sees the token (sent in clear over plain HTTP) gets the credentials")
    parser.add_argument("--format", choices=[f for f in EXPORT_FORMATS if f != "process"], default="env",
                        help="how to print the two variables (default: env, `export NAME='VALUE'`)")
    parser.set_defaults(func=serve_command)


def parse_listen(text: str, allow_remote: bool) -> "tuple[str, int]":
    """HOST:PORT ([V6]:PORT for IPv6) -> (ip, port); a non-loopback ip only with allow_remote."""
    import ipaddress

    host, sep, port_text = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise UsageError(f"--listen {_shown(text)} is not HOST:PORT", hint="e.g. --listen 127.0.0.1:9911")
    host = "127.0.0.1" if host == "localhost" else host
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise UsageError(f"--listen {_shown(text)}: the host must be an IP address",
                         hint="e.g. 127.0.0.1 (a name could resolve to anything)") from None
    if not _is_loopback(str(address)) and not allow_remote:
        raise UsageError(
            f"--listen {_shown(text)} is not a loopback address: anyone who can reach it and sees the token "
            f"(sent in clear over plain HTTP) would get the credentials",
            hint=f"listen on 127.0.0.1, or pass {REMOTE_FLAG} if you accept that")
    return str(address), int(port_text)


def _is_loopback(host: str) -> bool:
    import ipaddress

    return ipaddress.ip_address(host).is_loopback


def _shown(text: str) -> str:
    from credproc.errors import printable

    return repr(printable(text if len(text) <= 60 else text[:57] + "..."))


def answer_source(ref: str, path: "str | None"):
    """A function returning the credential_process answer for ``ref``, as `credproc process` gets it:
    from the index while it holds (bindings, definition files, margin), else refreshed under the
    refresh lock. Index hits run in parallel; refreshes one at a time, as the refresh path keeps
    its recursion guard in os.environ (CREDPROC_CHAIN) while it works."""
    import threading

    from credproc import cache
    from credproc.commands import process
    from credproc.creds import index

    key = index.index_key(ref, path)
    margin = cache.refresh_margin_seconds()
    refreshing = threading.Lock()

    def answer() -> bytes:
        hit = index.cached_answer(key, margin)
        if hit is not None:
            return hit
        with refreshing:
            return process.credential_answer(ref, path)

    return answer


def open_endpoint(ref: str, path: "str | None", host: str = "127.0.0.1", port: int = 0, name: str = ""):
    """A started-or-not CredentialsEndpoint for ``ref``, after one successful answer: a broken
    environment, a needed login or a refused role fail now, with their own exit code."""
    from credproc.creds.endpoint import CredentialsEndpoint
    from credproc.errors import printable

    source = answer_source(ref, path)
    source()
    try:
        return CredentialsEndpoint(source, host=host, port=port, name=name or f"credproc serve {printable(ref)}")
    except OSError as err:
        raise ConfigError(f"cannot listen on {host}:{port}: {err.strerror or type(err).__name__}",
                          hint="pick another --listen port, or 0 for a free one") from None


def serve_command(args) -> int:
    from credproc.creds.export import format_variables

    host, port = parse_listen(args.listen, args.allow_remote_insecure)
    fsutil.keep_stdout_private()  # the variables printed carry the endpoint's token
    endpoint = open_endpoint(args.environment, args.path, host, port)
    try:
        sys.stdout.write(format_variables(endpoint.variables(), args.format))
        sys.stdout.flush()
        if args.allow_remote_insecure and not _is_loopback(host):
            endpoint.log(f"warning: listening on {host}, beyond this machine, over plain HTTP: whoever sees "
                         f"a request sees the token (the AWS SDKs refuse a plain-HTTP endpoint that is not loopback)")
        endpoint.log(f"serving at {endpoint.url}; stop with Ctrl-C or SIGTERM")
        _serve_until_stopped(endpoint)
    finally:
        endpoint.close()
    endpoint.log("stopped")
    return 0


def _serve_until_stopped(endpoint) -> None:
    """Serve from a thread while the main thread waits for SIGINT or SIGTERM (a clean exit, 0)."""
    import signal
    import threading

    stop = threading.Event()
    previous = {signum: signal.signal(signum, lambda *_: stop.set()) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        endpoint.start()
        while not stop.wait(1.0):
            pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)

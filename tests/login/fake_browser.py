"""A stand-in web browser for `BROWSER=... credproc login`: logs in as the person would (through the
server's pages) and follows the redirect to credproc's loopback listener. Records what it saw."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loginhelp import Person  # noqa: E402


def main() -> int:
    url = sys.argv[1]
    with open(os.environ["FAKE_BROWSER_LOG"], "a") as log:
        log.write(f"opened {url}\n")
        log.write(f"stdout {os.readlink('/proc/self/fd/1') if os.path.exists('/proc/self/fd/1') else '?'}\n")
    Person("carol").authorize(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())

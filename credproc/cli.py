"""Command line: parses arguments and calls the library. The single error boundary.

`credproc process` is dispatched before argparse is even imported: it is the credential_process
hot path and hand-parses its few arguments (see credproc.commands.process).
"""
import sys

from credproc import settings
from credproc.errors import EXIT_CODE_TABLE, CredprocError, ExitCode, UsageError, format_error_line

# Each module exposes register(subparsers): it adds its sub-commands and sets `func(args) -> int`.
COMMAND_MODULES = (
    "credproc.commands.env",
    "credproc.commands.process",
    "credproc.commands.issuer",
    "credproc.commands.profile",
    "credproc.commands.run",
    "credproc.commands.run.gcpfiles",  # `gcp-token`: run's GCP credentials file runs it (not listed in --help)
    "credproc.commands.serve",
    "credproc.commands.doctor",
    "credproc.commands.cache",
    "credproc.commands.login",
    "credproc.commands.demo",
)

HOT_COMMANDS = {"process": "credproc.commands.process"}


def _epilog() -> str:
    from credproc.commands import helptext

    lines = ["exit codes:"]
    lines += [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODE_TABLE]
    lines.append("")
    lines.append("errors are one line on stderr: `credproc: MESSAGE (hint: ...)`;")
    lines.append("environment diagnostics print as `ORG/ENV:LINE:COL: SUMMARY`.")
    lines.append("CREDPROC_DEBUG=1 adds tracebacks for internal errors.")
    lines.append("every sub-command's --help ends with examples, e.g. `credproc env init --help`.")
    lines.append("")
    lines.append(helptext.COMPLETIONS)
    return "\n".join(lines)


# Commands credproc runs itself (google-auth runs `gcp-token`): neither in --help nor in error messages.
HIDDEN_COMMANDS = ("gcp-token",)


def build_parser():
    import argparse
    import importlib

    from credproc import __version__

    class OneLineErrorParser(argparse.ArgumentParser):
        """argparse prints the whole usage on a bad argument; credproc prints one line and exits 2.

        Options may come anywhere among the positional arguments (`env get ORG/ENV --value json PATH`),
        as cobra allows in every `esc` command: each sub-command parses intermixed. A parser with
        sub-commands or a REMAINDER argument (`run ORG/ENV -- CMD ...`, whose CMD options are the
        child's) keeps argparse's plain parsing."""

        _intermixing = False

        def error(self, message):
            for hidden in HIDDEN_COMMANDS:  # not offered where the choices are listed
                message = message.replace(f", {hidden!r}", "")
            raise UsageError(message, hint=f"{self.prog} --help")

        def parse_known_args(self, args=None, namespace=None):
            if self._intermixing or not _can_intermix(self):
                return super().parse_known_args(args, namespace)
            self._intermixing = True  # parse_known_intermixed_args calls back into parse_known_args
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._intermixing = False

    parser = OneLineErrorParser(
        prog="credproc",
        description="Short-lived AWS credentials from ESC-language environments.",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"credproc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    from credproc.commands import helptext

    helptext.attach(parser)
    return parser


def _can_intermix(parser) -> bool:
    import argparse

    return not any(action.nargs in (argparse.PARSER, argparse.REMAINDER) for action in parser._get_positional_actions())


def _dispatch(argv: list) -> int:
    if argv and argv[0] in HOT_COMMANDS:
        import importlib

        hot = importlib.import_module(HOT_COMMANDS[argv[0]])
        if "-h" not in argv and "--help" not in argv:
            return hot.main(argv[1:])
        hot.ensure_site_packages()  # the full parser below imports every command module
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    return int(func(args) or 0)


def main(argv: "list | None" = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        return _dispatch(argv)
    except CredprocError as err:
        if settings.debug():
            import traceback

            traceback.print_exc()
        sys.stderr.write(format_error_line(err) + "\n")
        return err.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("credproc: interrupted\n")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.INTERNAL
    except SystemExit as exc:  # argparse: keep its code (2 for usage errors)
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except Exception as exc:  # a bug: one line, no message text (it could hold a secret)
        if settings.debug():
            import traceback

            traceback.print_exc()
        sys.stderr.write(
            f"credproc: internal error ({type(exc).__name__}); rerun with CREDPROC_DEBUG=1 for a traceback\n"
        )
        return ExitCode.INTERNAL


if __name__ == "__main__":
    sys.exit(main())

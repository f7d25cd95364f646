"""`credproc env rotate ORG/ENV [PATH ...] [--format F] [--show-secrets] [--partial]` (ESC's
`esc env rotate`): call `rotate` on the rotators of ORG/ENV (those at the PATHs, or all), write each
new state back into the definition (credproc.store.rotation), and print the environment as it
evaluated during the rotation, in the formats of `env open`.

Stdout gets only that value (nothing, as for `env open`, when there is an error and no --partial);
stderr gets the diagnostics and one line on what was rotated. Exit 0, or 2 with any error
diagnostic (the states that were rotated are written all the same).
"""
import sys

from credproc.commands.envout import errors_of, print_diagnostics, warn, write_stdout


def add_parser(sub) -> None:
    import argparse

    from credproc.store.render import FORMATS

    p = sub.add_parser(
        "rotate", help="rotate the secrets of an environment (fn::rotate)",
        description="Call `rotate` on the rotators (fn::rotate::NAME) of ORG/ENV: those at the given property "
                    "paths (relative to values, e.g. db.creds or a[\"b-c\"][0]), or all of them. Each new state "
                    "is written back into the definition (only the state changes; the rest of the file stays "
                    "byte for byte), then the environment as evaluated during the rotation is printed like "
                    "`env open` prints it. A rotator that succeeded has its state written even when others "
                    "fail; any error exits 2.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="ORG/ENV")
    p.add_argument("paths", nargs="*", metavar="PATH", help="property path of a rotator (default: every rotator)")
    p.add_argument("--format", "-f", default="json", choices=FORMATS, metavar="FORMAT",
                   help=f"output format: {', '.join(FORMATS)} (default json)")
    p.add_argument("--show-secrets", action="store_true", help="show secret values (default \"[secret]\")")
    p.add_argument("--partial", action="store_true",
                   help="with errors, still print what evaluated (unknowns as \"[unknown]\"); exit 2")
    p.set_defaults(func=rotate_command)


def rotate_command(args) -> int:
    from credproc.store.render import check_format, render
    from credproc.store.rotation import rotate_environment

    check_format(args.format, [])
    rotated = rotate_environment(args.name, args.paths)
    opened = rotated.opened
    print_diagnostics(opened)
    sys.stderr.write(_summary(opened.name, rotated.written) + "\n")
    if opened.has_errors and not args.partial:
        raise errors_of(opened)
    write_stdout(render(opened.value, args.format, redact=not args.show_secrets, write_files=True, warn=warn),
                 secrets=args.show_secrets)
    if opened.has_errors:
        raise errors_of(opened)
    return 0


def _summary(name: str, written: list) -> str:
    from credproc.errors import printable

    if not written:
        return f"{name}: nothing rotated"
    return printable(f"{name}: rotated {', '.join(path or 'values' for path in written)} (new state written)")

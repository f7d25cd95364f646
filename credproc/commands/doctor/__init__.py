"""`credproc doctor [PROFILE | ORG/ENV] [--online]`: a table of checks, each with a fix (credproc.commands.doctor.checks)."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a profile or environment end to end and say how to fix what is wrong",
        description=(
            "Checks the profile's wiring (credential_process starts credproc directly, its launcher is present, "
            "private and current, the profile name, settings "
            "and ~/.aws/credentials sections or AWS_* variables that would shadow it), the cache directory's "
            "permissions, that the environment evaluates, that its token source gives a token (STS is not called), "
            "the local issuer and the clock. --online also makes one real STS call through `credproc process` and "
            "compares the clock with STS. Exit 0 when nothing failed (warnings allowed), 2 otherwise. "
            "No secret is ever printed."
        ),
    )
    parser.add_argument(
        "target", nargs="?", metavar="PROFILE | ORG/ENV",
        help="a profile name or an environment (default: AWS_PROFILE, else the only credproc profile)",
    )
    parser.add_argument("--online", action="store_true", help="also call STS once and compare the clock with it")
    parser.set_defaults(func=_doctor)


def _doctor(args) -> int:
    import shutil

    from credproc.commands.doctor import checks as doctor

    rows = doctor.run_checks(args.target, online=args.online)
    # The terminal's width (COLUMNS first); 80 columns when stdout is not a terminal.
    print(doctor.render(rows, shutil.get_terminal_size((80, 24)).columns))
    print()
    print(doctor.summary(rows))
    return doctor.exit_status(rows)

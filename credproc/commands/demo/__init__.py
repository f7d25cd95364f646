"""`credproc demo [--keep]`: the whole path against moto, in a throwaway home (see credproc.commands.demo.scenario)."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="see the whole path work: moto plays AWS on 127.0.0.1, no account or network needed",
        description=(
            "Start moto on 127.0.0.1 in a throwaway home, set up the local OIDC issuer, create demo/dev with "
            "fn::open::aws-login, install the esc-dev profile, launch an EC2 instance and stop it with the real "
            "AWS CLI, then run `credproc run demo/dev -- aws sts get-caller-identity`. Every step shows the "
            "command it runs. Needs the `demo` extra (moto and the AWS CLI): after install/install.sh, rerun it "
            "with --extras demo; in a checkout, install/dev-setup.sh; else pip install 'credproc[demo]' (a "
            "missing extra is reported with the command that fits this installation). Exit 0 when every step "
            "passed, 1 when one failed (the error line names the step), 2 when moto or the AWS CLI is missing."
        ),
    )
    parser.add_argument(
        "--keep", action="store_true",
        help="keep the temporary home afterwards and print where everything is",
    )
    parser.set_defaults(func=_demo)


def _demo(args) -> int:
    from credproc.commands.demo.scenario import run_demo

    return run_demo(keep=args.keep)

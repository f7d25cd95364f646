"""The "Examples:" epilog of every sub-command's --help, and the formatter that prints it as written.

Kept in one table so that a new sub-command without examples is noticed (tests/newcomer checks every
command the real `--help` lists). Each example is a command line a newcomer can run as it stands.
"""
import argparse
import textwrap

EXAMPLES = {
    "env": ["credproc env init acme/dev", "credproc env ls", "credproc env open acme/dev --format shell"],
    "env init": ["credproc env init acme/dev", "credproc env init acme/ci --template github-actions",
                 "credproc env init acme/me --template login",
                 "credproc env init acme/gcp --template gcp"],
    "env ls": ["credproc env ls", "credproc env ls acme"],
    "env rm": ["credproc env rm acme/dev", "credproc env rm acme/dev --yes   # no question (scripts)"],
    "env open": ["credproc env open acme/dev", "credproc env open acme/dev aws.login --format yaml",
                 'eval "$(credproc env open acme/dev --format shell --show-secrets)"'],
    "env get": ["credproc env get acme/dev", "credproc env get acme/dev aws.login"],
    "env check": ["credproc env check acme/dev", "credproc env check --file draft.yaml --org acme"],
    "env set": ["credproc env set acme/dev region eu-west-1",
                "printf %s \"$TOKEN\" | credproc env set acme/dev api.token - --secret"],
    "env edit": ["credproc env edit acme/dev", "EDITOR=nano credproc env edit acme/dev"],
    "process": ["credproc process acme/dev",
                "# in ~/.aws/config (credproc install-profile writes it):",
                "#   credential_process = /home/me/.local/bin/credproc process acme/dev"],
    "export": ["credproc export acme/dev                  # credential_process JSON (the default)",
               'eval "$(credproc export acme/dev --format env)"   # bash, zsh, sh',
               "credproc export acme/dev --format fish | source",
               "credproc export acme/dev --format powershell | Invoke-Expression"],
    "issuer": ["credproc issuer init --url https://issuer.example.com/credproc", "credproc issuer show"],
    "issuer init": ["credproc issuer init --url https://issuer.example.com/credproc",
                    "credproc issuer init --url https://issuer.example.com/credproc --force   # new key"],
    "issuer show": ["credproc issuer show --discovery-only > openid-configuration",
                    "credproc issuer show --jwks-only > jwks.json"],
    "issuer trust-policy": ["credproc issuer trust-policy acme/dev --account 123456789012",
                            "credproc issuer trust-policy acme/dev --account 123456789012 "
                            "--subject-attribute pulumi.user.login=alice",
                            "credproc issuer trust-policy acme/gcp --cloud gcp --project-number 123456789012 "
                            "--pool credproc-pool --provider credproc-oidc "
                            "--service-account deploy@my-project-id.iam.gserviceaccount.com",
                            "credproc issuer trust-policy acme/dev --cloud azure > credential.json   "
                            "# az ad app federated-credential create --id APP_ID --parameters credential.json"],
    "install-profile": ["credproc install-profile acme/dev", "credproc install-profile acme/dev --dry-run",
                        "credproc install-profile acme/prod --profile prod --region eu-west-1"],
    "uninstall-profile": ["credproc uninstall-profile esc-dev --dry-run", "credproc uninstall-profile esc-dev",
                          "credproc uninstall-profile --all"],
    "env rotate": ["credproc env rotate acme/db   # every rotator of acme/db",
                   "credproc env rotate acme/db 'app.creds' 'ops[\"fn::open::vault\"].key'",
                   "credproc env rotate acme/db --format yaml --show-secrets"],
    "serve": ["credproc serve acme/dev > endpoint.env", "credproc serve acme/dev --listen 127.0.0.1:9911 --format fish"],
    "run": ["credproc run acme/dev -- aws sts get-caller-identity",
            "credproc run acme/dev --server -- jupyter lab   # a credentials endpoint instead of static keys",
            "credproc run acme/dev -- terraform plan", "credproc run -i acme/dev -- bash   # no masking"],
    "doctor": ["credproc doctor", "credproc doctor esc-dev", "credproc doctor acme/dev --online"],
    "cache": ["credproc cache ls", "credproc cache clear acme/dev"],
    "cache ls": ["credproc cache ls", "credproc cache ls --json"],
    "cache clear": ["credproc cache clear acme/dev", "credproc cache clear   # every entry"],
    "login": ["credproc login acme/me", "credproc login acme/me --device   # no browser on this machine"],
    "logout": ["credproc logout acme/me", "credproc logout --all"],
    "demo": ["credproc demo", "credproc demo --keep   # look around afterwards"],
}

COMPLETIONS = """\
shell completions: scripts for bash, zsh and fish are in a credproc checkout under
install/completions/ (there is no `credproc completion` command). To enable them:
  bash  echo 'source /path/to/credproc/install/completions/credproc.bash' >> ~/.bashrc
  zsh   cp install/completions/_credproc ~/.zfunc/   (with fpath=(~/.zfunc $fpath) before compinit)
  fish  cp install/completions/credproc.fish ~/.config/fish/completions/"""


class KeepIndentedLines(argparse.HelpFormatter):
    """Paragraphs are re-wrapped as argparse does (at spaces only: a path or option is never split);
    lines that start with a space (examples, tables) are printed exactly as written."""

    def _fill_text(self, text, width, indent):
        out, paragraph = [], []
        for line in text.splitlines() + [""]:
            if line.strip() and not line[0].isspace():
                paragraph.append(line.strip())
                continue
            if paragraph:
                out.append(textwrap.fill(" ".join(paragraph), width, initial_indent=indent, subsequent_indent=indent,
                                         break_long_words=False, break_on_hyphens=False))
                paragraph = []
            out.append(indent + line if line.strip() else "")
        return "\n".join(out).rstrip("\n")


def examples_epilog(lines: list) -> str:
    return "Examples:\n" + "\n".join("  " + line for line in lines)


def attach(parser, path: str = "") -> None:
    """Add the Examples epilog to every sub-command below ``parser`` (recursively)."""
    for name, sub in _subcommands(parser):
        command = f"{path} {name}".strip()
        if command in EXAMPLES:
            sub.epilog = "\n\n".join(filter(None, [sub.epilog, examples_epilog(EXAMPLES[command])]))
            if sub.formatter_class is argparse.HelpFormatter:  # the Raw formatters keep the text as is
                sub.formatter_class = KeepIndentedLines
        attach(sub, command)


def _subcommands(parser):
    # argparse offers no public way to list the sub-parsers; its _SubParsersAction holds them.
    for action in parser._actions:  # noqa: SLF001
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            yield from action.choices.items()

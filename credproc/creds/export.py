"""`credproc export ORG/ENV --format F`: the credential_process answer as shell variables or JSON,
like `aws configure export-credentials`. Split out of credproc.commands.process.
"""
from credproc.errors import ConfigError

EXPORT_FORMATS = ("process", "env", "env-no-export", "powershell", "windows-cmd", "fish", "dotenv", "json")


def export_variables(answer: bytes) -> list:
    """[(name, value)] as `aws configure export-credentials` prints them."""
    import json

    doc = json.loads(answer.decode("utf-8"))
    variables = [("AWS_ACCESS_KEY_ID", doc["AccessKeyId"]), ("AWS_SECRET_ACCESS_KEY", doc["SecretAccessKey"])]
    if doc.get("SessionToken"):
        variables.append(("AWS_SESSION_TOKEN", doc["SessionToken"]))
    if doc.get("Expiration"):
        variables.append(("AWS_CREDENTIAL_EXPIRATION", doc["Expiration"]))
    return variables


# PowerShell reads these four as a single quote too; inside '...' each is doubled to stand for itself.
POWERSHELL_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"


def _powershell_single_quoted(value: str) -> str:
    return "'" + "".join(ch * 2 if ch in POWERSHELL_SINGLE_QUOTES else ch for ch in value) + "'"


def _windows_cmd(name: str, value: str) -> str:
    # cmd.exe has no escape inside `set "NAME=VALUE"` for % and "; AWS keys never contain them.
    if any(ch in value for ch in '%"^!'):
        raise ConfigError(f"{name} holds a character that cmd.exe cannot take safely in `set`",
                          hint="use --format powershell or env instead")
    return f'set "{name}={value}"'


def format_export(answer: bytes, fmt: str) -> str:
    if fmt == "process":
        return answer.decode("utf-8")
    return format_variables(export_variables(answer), fmt)


def format_variables(variables: list, fmt: str) -> str:
    """[(name, value)] in one of the EXPORT_FORMATS other than process (also `credproc serve`'s output)."""
    for name, value in variables:
        if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in value):  # C0, DEL and C1 (0x9b is a CSI)
            raise ConfigError(f"{name} holds a control character and cannot be exported")
    if fmt == "json":
        import json

        return json.dumps(dict(variables), indent=2) + "\n"
    from credproc.store.render import dotenv_problem, dotenv_quoted, shell_quoted  # `env open`'s quoting

    for name, value in variables if fmt == "dotenv" else ():
        problem = dotenv_problem(value)
        if problem:
            raise ConfigError(f"{name} {problem}", hint="use --format env or json")

    render = {
        "env": lambda n, v: f"export {n}={shell_quoted(v)}",
        "env-no-export": lambda n, v: f"{n}={shell_quoted(v)}",
        "powershell": lambda n, v: f"$Env:{n}={_powershell_single_quoted(v)}",
        "windows-cmd": _windows_cmd,
        "fish": lambda n, v: f"set -gx {n} {shell_quoted(v)}",
        "dotenv": lambda n, v: f"{n}={dotenv_quoted(v)}",
    }[fmt]
    return "".join(render(name, value) + "\n" for name, value in variables)

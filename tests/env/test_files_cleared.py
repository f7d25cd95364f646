"""The files `env open --format shell` writes for `files` entries (their paths are printed, so they
outlive the command, as ESC's do) hold secrets: `cache clear` removes them, through the real CLI."""
import os
import shlex

SECRET = "hunter2-long-lived-db-password"
DEFINITION = f"""values:
  password:
    fn::secret: {SECRET}
  files:
    DB_PASSWORD_FILE: ${{password}}
"""


def test_cache_clear_removes_the_files_env_open_wrote(cli, put):
    put("acme/db", DEFINITION)
    opened = cli("env", "open", "acme/db", "--format", "shell", "--show-secrets")
    assert opened.returncode == 0, opened.stderr
    assignment = [line for line in opened.stdout.splitlines() if "DB_PASSWORD_FILE=" in line][0]
    path = shlex.split(assignment.split("=", 1)[1])[0]
    assert open(path).read() == SECRET
    cleared = cli("cache", "clear")
    assert cleared.returncode == 0, cleared.stderr
    assert "1 file `env open` wrote" in cleared.stdout
    assert not os.path.exists(path)
    again = cli("cache", "clear")
    assert "env open" not in again.stdout

"""Where credproc keeps things. Stdlib only: used on the credential_process hot path.

On Linux and macOS the directories are derived with the same rules as platformdirs (a test checks
that both agree), so a cache hit need not import platformdirs (~37 ms). Elsewhere platformdirs decides.
"""
import os
import sys

from credproc import settings

APP = "credproc"


def _xdg(var: str, default: str) -> str:
    # platformdirs' rule (and the XDG spec): a relative or empty value is ignored, an absolute one used verbatim.
    value = os.environ.get(var, "")
    return value if os.path.isabs(value) else os.path.expanduser(default)


def user_cache_dir() -> str:
    """platformdirs.user_cache_dir("credproc"), without importing platformdirs where its rule is known."""
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Caches"), APP)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return os.path.join(_xdg("XDG_CACHE_HOME", "~/.cache"), APP)
    import platformdirs

    return platformdirs.user_cache_dir(APP, appauthor=False)


def user_config_dir() -> str:
    """platformdirs.user_config_dir("credproc"), same rule as above."""
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~/Library/Application Support"), APP)
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return os.path.join(_xdg("XDG_CONFIG_HOME", "~/.config"), APP)
    import platformdirs

    return platformdirs.user_config_dir(APP, appauthor=False, roaming=True)


def cache_dir() -> str:
    """Credential cache: $CREDPROC_CACHE_DIR, else the user cache dir."""
    return settings.cache_dir() or user_cache_dir()


def config_dir() -> str:
    """Issuer keys and other settings: $CREDPROC_CONFIG_DIR, else the user config dir."""
    return settings.config_dir() or user_config_dir()


def env_dir() -> str:
    """The environment store: $CREDPROC_ENV_DIR, else <config dir>/environments."""
    return settings.env_dir() or os.path.join(user_config_dir(), "environments")


def runtime_dir() -> str:
    """Private per-user files that must outlive the command that wrote them for a while (`run`'s
    per-run directories, the `files` of `env open`): $XDG_RUNTIME_DIR/credproc (a per-user tmpfs,
    emptied at logout) when it exists, else the cache dir. Never /tmp."""
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, APP)
    return cache_dir()


def pulumi_credentials_file() -> str:
    """The Pulumi CLI's saved logins: $PULUMI_HOME/credentials.json, else ~/.pulumi/credentials.json."""
    home = settings.pulumi_home()
    return os.path.join(home if home else os.path.expanduser("~/.pulumi"), "credentials.json")

"""The identity binding of a pulumi: answer in the `process` index (credproc.cache, stdlib only):
it names the Pulumi login the cache-hit path reads now, and changes with anything that could change
which login the cold path would use."""
import os

from credproc import cache
from tests.support import pulumidata as data


def digest():
    return cache.binding_digest("pulumi", data.REF)


def test_no_login_is_absent_and_never_holds():
    assert digest() == cache.ABSENT
    assert not cache.Binding("pulumi", data.REF, cache.ABSENT).holds(0)


def test_the_variables_decide_when_the_token_is_set(monkeypatch):
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", data.TOKEN)
    first = digest()
    binding = cache.Binding.now("pulumi", data.REF)
    assert binding.holds(0) and data.TOKEN not in repr(binding) and data.TOKEN not in binding.index_line()
    monkeypatch.setenv("PULUMI_BACKEND_URL", "https://pulumi.example.com")
    second = digest()
    monkeypatch.setenv("PULUMI_ACCESS_TOKEN", data.OTHER_TOKEN)
    third = digest()
    assert len({first, second, third}) == 3
    assert not binding.holds(0)


def test_the_saved_login_decides_without_the_variable(isolated_env, monkeypatch):
    folder = isolated_env.home / ".pulumi"
    folder.mkdir()
    (folder / "credentials.json").write_text('{"current": "https://api.pulumi.com"}')
    first = digest()
    assert first not in (cache.ABSENT, cache.OVERSIZE)
    (folder / "credentials.json").write_text('{"current": "https://other.example.com"}')
    assert digest() != first
    monkeypatch.setenv("PULUMI_HOME", str(isolated_env.home / "nowhere"))
    assert digest() == cache.ABSENT
    assert not os.path.exists(isolated_env.home / "nowhere")

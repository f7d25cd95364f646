"""credproc.providers.LazyRegistry: built() and substitute(), used by `run` and `doctor`."""
import subprocess
import sys

import pytest

from credproc import providers


def test_built_lists_only_what_was_asked_for_and_asking_builds_nothing():
    registry = providers.providers(conformance=True)
    assert registry.built() == {}
    echo = registry["test"]
    assert registry.built() == {"test": echo}
    assert registry["test"] is echo  # built once


def test_built_is_a_copy():
    registry = providers.providers(conformance=True)
    registry["test"]
    registry.built().clear()
    assert list(registry.built()) == ["test"]


def test_substitute_replaces_an_entry():
    registry = providers.providers()
    stand_in = object()
    registry.substitute("aws-login", stand_in)
    assert registry["aws-login"] is stand_in
    assert list(registry) == sorted(providers.BUILTIN_PROVIDERS) and registry.built() == {"aws-login": stand_in}


def test_substitute_does_not_import_the_replaced_provider():
    code = ("import sys; from credproc import providers; r = providers.providers(); "
            "r.substitute('aws-login', object()); r['aws-login']; "
            "print('credproc.providers.aws_login' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_substitute_refuses_a_name_the_registry_does_not_have():
    with pytest.raises(KeyError):
        providers.providers().substitute("no-such-provider", object())

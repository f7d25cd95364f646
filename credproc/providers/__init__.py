"""Provider registry: name -> "module:Class", imported only when a provider is first used."""
import importlib
from collections.abc import Mapping

BUILTIN_PROVIDERS = {
    "aws-login": "credproc.providers.aws_login:AwsLoginProvider",
    "aws-assume-role": "credproc.providers.aws_assume_role:AwsAssumeRoleProvider",  # credproc's extension
    "aws-secrets": "credproc.providers.aws_secrets:AwsSecretsProvider",
    "aws-parameter-store": "credproc.providers.aws_secrets:AwsParameterStoreProvider",
    "gcp-login": "credproc.providers.gcp_login:GcpLoginProvider",
    "azure-login": "credproc.providers.azure_login:AzureLoginProvider",
}

# Registered only when CREDPROC_CONFORMANCE=1 (docs/background.md §5).
CONFORMANCE_PROVIDERS = {
    "test": "credproc.providers.conformance:TestProvider",
    "error": "credproc.providers.conformance:ErrorProvider",
    "secret-wrapper": "credproc.providers.conformance:SecretWrapperProvider",
    "bench": "credproc.providers.conformance:BenchProvider",
    "schema": "credproc.providers.conformance:SchemaProvider",
}
CONFORMANCE_ROTATORS = {
    "swap": "credproc.providers.conformance:SwapRotator",
    "echo": "credproc.providers.conformance:EchoRotator",
}


class LazyRegistry(Mapping):
    """A read-only mapping name -> instance; each class is imported and built on first access."""

    def __init__(self, specs: dict, **kwargs):
        self._specs = dict(specs)
        self._kwargs = kwargs  # passed to every constructor that accepts them (e.g. options)
        self._built = {}

    def __getitem__(self, name):
        if name not in self._built:
            module, _, attr = self._specs[name].partition(":")
            cls = getattr(importlib.import_module(module), attr)
            self._built[name] = cls(**self._kwargs) if self._kwargs else cls()
        return self._built[name]

    def __iter__(self):
        return iter(sorted(self._specs))

    def __len__(self):
        return len(self._specs)

    def built(self) -> dict:
        """name -> instance of every entry built so far (what evaluation used); asking builds nothing."""
        return dict(self._built)

    def substitute(self, name: str, instance) -> None:
        """Use ``instance`` for the entry ``name`` (which must be one of the registry's) from now on,
        e.g. doctor's probe in place of aws-login."""
        if name not in self._specs:
            raise KeyError(name)
        self._built[name] = instance


def providers(conformance: bool = False, **options) -> Mapping:
    specs = dict(BUILTIN_PROVIDERS)
    if conformance:
        specs.update(CONFORMANCE_PROVIDERS)
    return LazyRegistry(specs, **options)


def rotators(conformance: bool = False) -> Mapping:
    return LazyRegistry(CONFORMANCE_ROTATORS if conformance else {})

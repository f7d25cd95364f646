"""Constants and environment text for the Azure tests (tests/azure)."""
import textwrap

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
SUBSCRIPTION = "99999999-8888-7777-6666-555555555555"
ISSUER_URL = "https://issuer.azure-test.invalid"
REF = "acme/az"
SUBJECT = "credproc:org:acme:env:default/az"
AUDIENCE = "azure:acme"
SCOPE = "https://management.azure.com/.default"


def azure_yaml(extra_inputs: str = "", variables: str = "", files: str = "") -> str:
    text = textwrap.dedent(f"""\
        values:
          azure:
            login:
              fn::open::azure-login:
                clientId: {CLIENT}
                tenantId: {TENANT}
                subscriptionId: {SUBSCRIPTION}
                oidc: true
        """)
    text += textwrap.indent(textwrap.dedent(extra_inputs), " " * 8)
    if variables:
        text += "  environmentVariables:\n" + textwrap.indent(textwrap.dedent(variables), " " * 4)
    if files:
        text += "  files:\n" + textwrap.indent(textwrap.dedent(files), " " * 4)
    return text

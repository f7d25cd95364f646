"""`credproc issuer init|show|trust-policy`: the local OIDC issuer (credproc.identity.issuer)."""
import json
import sys

from credproc.errors import UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "issuer", help="credproc's local OIDC issuer (the default token source)",
        description="Set up and publish credproc's local OIDC issuer, and print IAM trust policies for it.",
    )
    commands = parser.add_subparsers(dest="issuer_command", metavar="SUBCOMMAND")
    parser.set_defaults(func=lambda args: _usage(parser))

    init = commands.add_parser(
        "init", help="create the signing key (once)",
        description="Create the issuer's RS256 signing key (0600, in the config dir) for the issuer URL where "
                    "you will publish its discovery document and JWKS. Tokens it mints are what STS checks "
                    "against the IAM OIDC provider you create for that URL. Refuses to replace an existing key "
                    "unless --force (the old public key stays in the JWKS, so tokens already out stay valid).")
    init.add_argument("--url", required=True, help="the HTTPS URL where the discovery document and JWKS are published")
    init.add_argument("--audience", help="the default `aud` of minted tokens (default: sts.amazonaws.com)")
    init.add_argument("--force", action="store_true", help="replace an existing key (the old public key stays in the JWKS)")
    init.set_defaults(func=run_init)

    show = commands.add_parser(
        "show", help="print the discovery document and JWKS to publish",
        description="Print the OpenID discovery document (publish it at URL/.well-known/openid-configuration) "
                    "and the JWKS (publish it at the document's jwks_uri) of the local issuer, as one JSON "
                    "object, or only one of them. Public keys only: nothing secret is printed.")
    which = show.add_mutually_exclusive_group()
    which.add_argument("--jwks-only", action="store_true", help="print only the JWKS (publish at jwks_uri)")
    which.add_argument("--discovery-only", action="store_true",
                       help="print only the discovery document (publish at URL/.well-known/openid-configuration)")
    show.set_defaults(func=run_show)

    trust = commands.add_parser(
        "trust-policy", help="print the cloud-side trust that admits exactly one environment",
        description="Print the IAM role trust policy (JSON) that lets sts:AssumeRoleWithWebIdentity succeed "
                    "only for tokens the local issuer mints for ORG/ENV: it pins the audience (aud) and the "
                    "exact subject (sub), subject attributes included. Paste it as the role's trust policy. "
                    "With --cloud azure: the Entra ID federated identity credential (name, issuer, subject, "
                    "audiences) for `az ad app federated-credential create --id APP_ID --parameters FILE`. "
                    "With --cloud gcp: the gcloud commands that create the workload identity pool provider "
                    "(issuer, allowed audience gcp:ORG, attribute mapping and a condition admitting exactly "
                    "that subject) and let the subject impersonate the service account.")
    trust.add_argument("environment", metavar="ORG/ENV", help="the environment that holds the fn::open::*-login")
    trust.add_argument("--cloud", choices=sorted(TRUST_POLICIES), default="aws",
                       help="what to print: an IAM trust policy (aws, default), an Entra ID federated credential "
                            "(azure) or the gcloud commands of a workload identity provider (gcp)")
    trust.add_argument("--account", help="the AWS account id (12 digits) of the IAM OIDC provider (--cloud aws)")
    trust.add_argument("--audience", help="the token audience (default: the issuer's for aws, azure:ORG for azure, "
                                          "gcp:ORG for gcp)")
    trust.add_argument("--subject-attribute", action="append", default=[], metavar="NAME=VALUE",
                       help="a subjectAttributes entry and its value, in the order of oidc.subjectAttributes")
    trust.add_argument("--partition", default="aws", help="the AWS partition (default aws)")
    gcp = trust.add_argument_group("--cloud gcp")
    gcp.add_argument("--project-number", help="the GCP project number of the workload identity pool")
    gcp.add_argument("--pool", help="the workload identity pool id (gcp-login's oidc.workloadPoolId)")
    gcp.add_argument("--provider", help="the pool's provider id (oidc.providerId)")
    gcp.add_argument("--location", default="global", help="the pool's location (oidc.region; default global)")
    gcp.add_argument("--service-account", help="the service account to impersonate (oidc.serviceAccount)")
    trust.set_defaults(func=run_trust_policy)


def _usage(parser) -> int:
    raise UsageError("issuer needs a sub-command: init, show or trust-policy", hint="credproc issuer --help")


def _print_json(document) -> None:
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")


def run_init(args) -> int:
    from credproc.identity import issuer

    local = issuer.init(args.url, audience=args.audience, force=args.force)
    sys.stderr.write(
        f"Issuer {local.url} set up in {issuer.issuer_dir()} (key id {local.kid}).\n"
        f"Publish `credproc issuer show --discovery-only` at {local.url}/.well-known/openid-configuration\n"
        f"and `credproc issuer show --jwks-only` at {local.jwks_uri()}, then create an IAM OIDC provider\n"
        f"for {local.url} with audience {local.audience}.\n"
    )
    return 0


def run_show(args) -> int:
    from credproc.identity import issuer

    local = issuer.load()
    if args.jwks_only:
        _print_json(local.jwks())
    elif args.discovery_only:
        _print_json(local.discovery())
    else:
        _print_json({
            "issuer": local.url,
            "discovery_url": f"{local.url}/.well-known/openid-configuration",
            "discovery": local.discovery(),
            "jwks_uri": local.jwks_uri(),
            "jwks": local.jwks(),
        })
    return 0


def run_trust_policy(args) -> int:
    from credproc.store.store import parse_name

    parse_name(args.environment)  # the local issuer mints for environments of the local store: their names only
    code = TRUST_POLICIES[args.cloud](args)  # bad arguments are refused before any warning
    for warning in _subject_warnings(args):
        sys.stderr.write(f"credproc: warning: {warning}\n")
    return code


LOGIN_PROVIDERS = {"aws": "aws-login", "azure": "azure-login", "gcp": "gcp-login"}


def _subject_warnings(args) -> "list[str]":
    """The subject printed must be the one the environment's logins present: say so when the local
    definition is missing, has no login for this cloud, or asks for subjectAttributes that
    --subject-attribute does not give (in order), since the trust would then admit no token at all."""
    provider = LOGIN_PROVIDERS[args.cloud]
    declared = _declared_subject_attributes(args.environment, provider)
    if declared is None:
        return [f"{args.environment} is not in the local store: the trust below admits the tokens the local issuer "
                f"will mint for that name"]
    if not declared:
        return [f"{args.environment} opens no fn::open::{provider}: the trust below is for a login it does not have"]
    given = [name for name, _ in _subject_attributes(args)]
    return [f"{args.environment}'s {provider} appends subjectAttributes [{', '.join(wanted)}] to its subject: pass "
            + " ".join(f"--subject-attribute {name}=VALUE" for name in wanted)
            + " (in that order), else the trust admits none of its tokens"
            for wanted in _unique(declared) if wanted != given]


def _declared_subject_attributes(ref: str, provider: str) -> "list | None":
    """subjectAttributes of each fn::open::PROVIDER in the local definition ([] each when absent);
    None when the store has no such environment. A definition the parser refuses declares nothing."""
    from credproc.lang.syntax import parse_yaml, plain, provider_inputs
    from credproc.store.store import NotInStore, Store, parse_name

    try:
        data, _ = Store().read(parse_name(ref))
    except NotInStore:
        return None
    root, diagnostics = parse_yaml(ref, data)
    if root is None or any(d.severity == "error" for d in diagnostics):
        return []
    found = []
    for inputs in provider_inputs(plain(root), provider):
        block = inputs.get("oidc") if provider != "azure-login" and isinstance(inputs, dict) else inputs
        names = block.get("subjectAttributes") if isinstance(block, dict) else None
        found.append([n for n in names if isinstance(n, str)] if isinstance(names, list) else [])
    return found


def _unique(lists: list) -> list:
    seen = []
    for item in lists:
        if item not in seen:
            seen.append(item)
    return seen


def _subject_attributes(args) -> list:
    attributes = []
    for item in args.subject_attribute:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UsageError(f"--subject-attribute must be NAME=VALUE, got {item!r}")
        attributes.append((name, value))
    return attributes


def aws_trust_policy(args) -> int:
    from credproc.identity import issuer

    if args.account is None:
        raise UsageError("--account is required with --cloud aws (the 12-digit account id of the IAM OIDC provider)",
                         hint="credproc issuer trust-policy --help")
    account = args.account.strip()
    if len(account) != 12 or not account.isdigit():
        raise UsageError(f"--account must be a 12-digit AWS account id, got {args.account!r}")
    org, environment = issuer.split_environment(args.environment)
    attributes = _subject_attributes(args)
    local = issuer.load()
    sub = issuer.subject(org, environment, attributes)
    _print_json(local.trust_policy(account, sub, audience=args.audience, partition=args.partition))
    return 0


def azure_federated_credential(args) -> int:
    """Entra ID's federated identity credential admitting exactly ORG/ENV's tokens (the JSON that
    `az ad app federated-credential create --parameters` takes): Entra matches iss, sub and aud exactly."""
    import re

    from credproc.identity import issuer

    _refuse_aws_options(args, "azure")
    org, environment = issuer.split_environment(args.environment)
    local = issuer.load()
    sub = issuer.subject(org, environment, _subject_attributes(args))
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", f"credproc-{org}-{issuer.qualify_environment(environment)}")
    _print_json({
        "name": name.strip("-")[:120],  # Entra: 3-120 of letters, digits, '-' and '_'
        "issuer": local.url,
        "subject": sub,
        "audiences": [args.audience or f"azure:{org}"],
        "description": f"credproc environment {args.environment}",
    })
    return 0


def _refuse_aws_options(args, cloud: str) -> None:
    if args.account is not None:
        raise UsageError(f"--account applies to --cloud aws, not --cloud {cloud}")
    if args.partition != "aws":
        raise UsageError(f"--partition applies to --cloud aws, not --cloud {cloud}")


GCP_SUBJECT_LIMIT = 127  # bytes: Google's limit on google.subject


def gcp_trust_policy(args) -> int:
    """The gcloud commands for the workload identity pool provider and the service account binding
    that admit exactly ORG/ENV's local-issuer tokens (audience gcp:ORG unless --audience)."""
    import shlex

    from credproc.identity import issuer

    _refuse_aws_options(args, "gcp")
    _check_gcp_options(args)
    org, environment = issuer.split_environment(args.environment)
    sub = issuer.subject(org, environment, _subject_attributes(args))
    local = issuer.load()
    project = args.project_number or "PROJECT_NUMBER"
    pool, provider = args.pool or "POOL_ID", args.provider or "PROVIDER_ID"
    account = args.service_account or "SERVICE_ACCOUNT_EMAIL"
    audience = args.audience or f"gcp:{org}"
    principal = (f"principal://iam.googleapis.com/projects/{project}/locations/{args.location}"
                 f"/workloadIdentityPools/{pool}/subject/{sub}")
    q = shlex.quote
    # Meant to be pasted into a shell: every user-given text is in a shlex-quoted word (comments name
    # none; control characters were refused above, so no line can end early).
    lines = [
        "# The workload identity pool provider admitting exactly one environment (its subject is in the condition):",
        f"gcloud iam workload-identity-pools providers create-oidc {q(provider)} \\",
        f"  --project={q(project)} --location={q(args.location)} --workload-identity-pool={q(pool)} \\",
        f"  --issuer-uri={q(local.url)} \\",
        f"  --allowed-audiences={q(audience)} \\",
        "  --attribute-mapping=google.subject=assertion.sub \\",
        f"  --attribute-condition={q('assertion.sub == ' + json.dumps(sub))}",
        "# Let that subject (and no other) impersonate the service account:",
        f"gcloud iam service-accounts add-iam-policy-binding {q(account)} \\",
        "  --role=roles/iam.workloadIdentityUser \\",
        f"  --member={q(principal)}",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    if len(sub.encode("utf-8")) > GCP_SUBJECT_LIMIT:
        sys.stderr.write(f"credproc: warning: the subject is {len(sub.encode('utf-8'))} bytes; Google limits "
                         f"google.subject to {GCP_SUBJECT_LIMIT}: use fewer subject attributes or a shorter "
                         "environment name\n")
    return 0


def _check_gcp_options(args) -> None:
    """What --cloud gcp prints is pasted into a shell: refuse control characters in every option, and
    ids gcp-login itself would refuse (its own rules)."""
    from credproc.errors import printable
    from credproc.providers import gcp_login

    given = {"ORG/ENV": args.environment, "--audience": args.audience, "--project-number": args.project_number,
             "--pool": args.pool, "--provider": args.provider, "--location": args.location,
             "--service-account": args.service_account}
    given.update((f"--subject-attribute #{n}", item) for n, item in enumerate(args.subject_attribute, 1))
    for option, value in given.items():
        if value is not None and any(not ch.isprintable() for ch in value):
            raise UsageError(f"{option} contains a control character: {printable(repr(value[:100]))}")
    checks = [("--project-number", gcp_login.valid_project_number, "a project number (digits, e.g. 123456789012)"),
              ("--pool", gcp_login.valid_pool_id, "a workload identity pool id (4 to 32 lower-case letters, digits "
                                                  "and dashes)"),
              ("--provider", gcp_login.valid_pool_id, "a provider id (4 to 32 lower-case letters, digits and dashes)"),
              ("--location", gcp_login.valid_region, "a location such as global"),
              ("--service-account", gcp_login.valid_service_account,
               "a service account e-mail such as deploy@my-project.iam.gserviceaccount.com")]
    for option, valid, what in checks:
        value = given[option]
        if value is not None and not valid(value):
            raise UsageError(f"{option} must be {what} (as gcp-login requires), got {printable(repr(value[:100]))}")


#: --cloud NAME -> the function that prints what that cloud must hold to trust ORG/ENV's tokens.
TRUST_POLICIES = {"aws": aws_trust_policy, "azure": azure_federated_credential, "gcp": gcp_trust_policy}

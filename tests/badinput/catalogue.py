"""The bad-input catalogue: hostile or broken inputs at every entry point of credproc, each with the
exit code and first stderr line it must produce. One table drives both the tests
(tests/badinput/test_catalogue.py) and the published table in docs/reliability.md
(`CREDPROC_ACCEPT=1 .venv/bin/python -m pytest tests/badinput` regenerates it), so they never drift.

A case runs the real `credproc` entry point in the test's isolated world:
  * environment acme/dev (a file token, aws-login -> STS through the counting proxy) unless ``yaml``
    replaces its text (str or bytes);
  * ``token``: the token file's contents (default: a valid JWT-shaped token);
  * ``env``: extra environment variables (None removes one);
  * ``config`` / ``credentials``: contents of AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE;
  * ``sts``: the proxy answers every AssumeRoleWithWebIdentity with (status, body);
  * ``entra``: AZURE_AUTHORITY_HOST is a loopback Entra ID answering every token request with (status, body)
    ({entra} in the expected line is its URL);
  * ``args``: the command line. Placeholders: {token_file} {env_dir} {cache_dir} {config_file} {tmp} {role}.
The expected first stderr line (same placeholders, plus {credentials_file}) is matched ``exact``, as a
``prefix``, or as a ``contains`` substring. ``may_cache``: a complete, valid STS result may be cached.
``stdout``: a substring stdout must hold (else stdout must be empty).
"""
import base64
import json
import time

ROLE = "arn:aws:iam::123456789012:role/esc-dev"


def _b64(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt(payload=None, header=None, **claims) -> str:
    now = int(time.time())
    body = {"iss": "https://issuer.credproc.test", "aud": "sts.amazonaws.com", "sub": "org:acme:env:dev",
            "iat": now, "exp": now + 3600}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return f"{_b64(header or {'alg': 'RS256', 'typ': 'JWT'})}.{_b64(payload if payload is not None else body)}.c2ln"


def login(token: str = "{file: {token_file}}", oidc_extra: str = "", role: str = ROLE, session: str = "credproc-test",
          top: str = "") -> str:
    return (
        f"{top}values:\n  aws:\n    login:\n      fn::open::aws-login:\n        oidc:\n"
        f"          roleArn: {role}\n          sessionName: {session}\n          token: {token}\n{oidc_extra}"
        "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
        "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.login.sessionToken}\n"
    )


def sts_error(code: str, message: str) -> str:
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-1</RequestId></ErrorResponse>")


def sts_ok(credentials_xml: str) -> str:
    return ('<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<AssumeRoleWithWebIdentityResult>{credentials_xml}"
            "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/esc-dev/credproc-test</Arn>"
            "<AssumedRoleId>ARO:x</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult>"
            "<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>")


CHAINED_ROLE = "arn:aws:iam::210987654321:role/deploy"


def chained(hop: str = "", login_keys: str = "${aws.login}", role: str = CHAINED_ROLE) -> str:
    """aws-login (as login()) -> aws.deploy, an fn::open::aws-assume-role whose keys are exported."""
    return (login().split("  environmentVariables:\n")[0]
            + f"    deploy:\n      fn::open::aws-assume-role:\n        login: {login_keys}\n"
            f"        roleArn: {role}\n        sessionName: chain\n{hop}"
            "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.deploy.accessKeyId}\n"
            "    AWS_SECRET_ACCESS_KEY: ${aws.deploy.secretAccessKey}\n    AWS_SESSION_TOKEN: ${aws.deploy.sessionToken}\n")


STATIC = ("values:\n  aws:\n    login:\n      fn::open::aws-login:\n        static:\n"
          "          accessKeyId: AKIAIOSFODNN7EXAMPLE\n          secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
          "  environmentVariables:\n    AWS_ACCESS_KEY_ID: ${aws.login.accessKeyId}\n"
          "    AWS_SECRET_ACCESS_KEY: ${aws.login.secretAccessKey}\n")
def with_secrets(get: str, provider: str = "aws-secrets", region: str = "eu-central-1") -> str:
    """STATIC's login plus aws.secrets, an fn::open of a secret provider with that `get`."""
    return (STATIC.split("  environmentVariables:\n")[0]
            + f"    secrets:\n      fn::open::{provider}:\n        region: {region}\n        login: ${{aws.login}}\n{get}"
            + "  environmentVariables:\n" + STATIC.split("  environmentVariables:\n")[1])


def gcp(oidc_extra: str = "", project: str = "123456789012", pool: str = "credproc-pool",
        account: str = "deploy@acme-prod.iam.gserviceaccount.com", token: str = "{file: {token_file}}") -> str:
    """acme/dev with a gcp-login (a file token) whose token is exported."""
    return (f"values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: {project}\n        oidc:\n"
            f"          workloadPoolId: {pool}\n          providerId: credproc-oidc\n          serviceAccount: {account}\n"
            f"          token: {token}\n{oidc_extra}"
            "  environmentVariables:\n    GOOGLE_OAUTH_ACCESS_TOKEN: ${gcp.login.accessToken}\n")


GCP_OPEN = ("run", "acme/dev", "--", "true")


GCP_TOKEN_FAILED = '{"version": 1, "success": false, "code": "credproc-exit-2"'


def gcp_token_spec(**changes) -> str:
    """A token spec as `credproc run` writes it for `credproc gcp-token`, with ``changes``."""
    spec = {"audience": "//iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/"
                        "credproc-pool/providers/credproc-oidc", "token": None, "service_account":
            "deploy@acme-prod.iam.gserviceaccount.com", "lifetime": 3600,
            "context": {"org": "acme", "environment": "dev", "root_environment": "dev", "subject_attributes": [],
                        "audience": "gcp:acme"}}
    spec.update(changes)
    return json.dumps(spec)
def azure(inputs: str = "        oidc: true\n        token: {file: {token_file}}\n") -> str:
    """An fn::open::azure-login with its three ids and ``inputs`` (default: oidc with the file token)."""
    return ("values:\n  azure:\n    login:\n      fn::open::azure-login:\n"
            "        clientId: aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\n        tenantId: 11111111-2222-3333-4444-555555555555\n"
            "        subscriptionId: 99999999-8888-7777-6666-555555555555\n" + inputs)


DEEP = "values:\n  x: " + "[" * 1000 + "]" * 1000 + "\n"
ALIAS_BOMB = "values:\n  a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"  {chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(9))
PROCESS = ("process", "acme/dev")
SCHEMA_REDOS = ("values:\n  v:\n    fn::validate:\n      schema: {type: string, pattern: \"^([a-z0-9]+-?)+$\"}\n"
                "      value: \"" + "a" * 40 + "!\"\n" + STATIC.split("values:\n")[1])
SCHEMA_STEPS = ("values:\n  v:\n    fn::validate:\n      schema: " + json.dumps(
    {"$defs": {"n": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/n"}},
                               {"type": "array", "items": {"$ref": "#/$defs/n"}}, {"type": "number"}]}},
     "$ref": "#/$defs/n"}) + "\n      value: " + "[" * 30 + '"x"' + "]" * 30 + "\n" + STATIC.split("values:\n")[1])


def case(id, entry, what, args=PROCESS, code=2, line="", match="prefix", **setup):
    return dict(id=id, entry=entry, what=what, args=tuple(args), code=code, line=line, match=match, **setup)


CASES = [
    # --- command-line arguments --------------------------------------------------------------------
    case("args-no-ref", "arguments", "`process` without an environment", ("process",),
         line='credproc: credproc process needs an environment name (hint: usage: credproc process ORG/ENV [--path PATH])', match="exact"),
    case("args-extra", "arguments", "a second positional argument", ("process", "acme/dev", "acme/other"),
         line="credproc: unexpected argument 'acme/other' for credproc process"),
    case("args-path-missing", "arguments", "`--path` without a value", ("process", "acme/dev", "--path"),
         line="credproc: --path needs a value"),
    case("args-path-empty", "arguments", "`--path ''`", ("process", "acme/dev", "--path", " "),
         line="credproc: --path is empty"),
    case("args-unknown-option", "arguments", "an unknown option", ("process", "acme/dev", "--profile", "x"),
         line="credproc: unknown option '--profile' for credproc process"),
    case("args-long-option", "arguments", "a 10 000-character option", ("process", "acme/dev", "--" + "x" * 10000),
         line="credproc: unknown option '--xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' for credproc process"),
    case("args-path-not-found", "arguments", "`--path` naming nothing", ("process", "acme/dev", "--path", "no.such"),
         line='credproc: acme/dev: no value at --path no.such (hint: use dots between property names, e.g. aws.login)', match="exact",
         may_cache=True),  # the STS answer was good and is cached whole; only the path was wrong
    case("args-export-format", "arguments", "`export --format xml`", ("export", "acme/dev", "--format", "xml"),
         line="invalid choice: 'xml'", match="contains"),
    case("args-unknown-command", "arguments", "an unknown command", ("frobnicate",),
         line="invalid choice: 'frobnicate'", match="contains"),
    case("args-profile-bracket", "arguments", "`install-profile --profile 'x]y'`",
         ("install-profile", "acme/dev", "--profile", "x]y"), line="credproc: invalid profile name 'x]y': use letters, digits and . _ - @ + (no spaces, brackets or newlines)", match="exact"),
    case("args-profile-newline", "arguments", "a profile name with a newline",
         ("install-profile", "acme/dev", "--profile", "x\ny"), line="credproc: invalid profile name 'x\\ny'", match="prefix"),
    case("args-region", "arguments", "`install-profile --region 'us east 1'`",
         ("install-profile", "acme/dev", "--region", "us east 1"), line="credproc: invalid region 'us east 1': expected a region name such as eu-central-1", match="exact"),
    case("args-output", "arguments", "`install-profile --output xml`",
         ("install-profile", "acme/dev", "--output", "xml"), line="credproc: invalid output format 'xml': expected one of json, text, table, yaml, yaml-stream, off", match="exact"),
    case("args-run-no-command", "arguments", "`run` without a command", ("run", "acme/dev"), line='credproc: no command specified (hint: credproc run acme/dev -- COMMAND [ARGS...])', match="exact"),
    case("args-run-missing-command", "arguments", "`run` with a command that does not exist",
         ("run", "acme/dev", "--", "/nonexistent/command"), yaml=STATIC, code=2, line='credproc: resolving command: /nonexistent/command is not an executable file', match="exact"),
    case("args-serve-listen-remote", "arguments", "`serve --listen 0.0.0.0:0` without --allow-remote-insecure",
         ("serve", "acme/dev", "--listen", "0.0.0.0:0"),
         line="credproc: --listen '0.0.0.0:0' is not a loopback address: anyone who can reach it and sees the token "
              "(sent in clear over plain HTTP) would get the credentials (hint: listen on 127.0.0.1, or pass "
              "--allow-remote-insecure if you accept that)", match="exact"),
    case("args-serve-listen-v6-any", "arguments", "`serve --listen [::]:9911` without --allow-remote-insecure",
         ("serve", "acme/dev", "--listen", "[::]:9911"), line="credproc: --listen '[::]:9911' is not a loopback address"),
    case("args-serve-listen-name", "arguments", "`serve --listen example.com:80` (a name, not an address)",
         ("serve", "acme/dev", "--listen", "example.com:80"),
         line="credproc: --listen 'example.com:80': the host must be an IP address"),
    case("args-serve-listen-port", "arguments", "`serve --listen 127.0.0.1:99999`",
         ("serve", "acme/dev", "--listen", "127.0.0.1:99999"), line="credproc: --listen '127.0.0.1:99999' is not HOST:PORT"),
    # --- names -------------------------------------------------------------------------------------
    case("name-dotdot", "names", "`../etc`", ("process", "../etc"),
         line="credproc: invalid environment name '../etc': a name segment may not start with '.'"),
    case("name-one-segment", "names", "`acme`", ("process", "acme"),
         line="credproc: invalid environment name 'acme': expected ORG/ENV or ORG/PROJECT/ENV"),
    case("name-four-segments", "names", "`a/b/c/d`", ("process", "a/b/c/d"), line="credproc: invalid environment name 'a/b/c/d': expected ORG/ENV or ORG/PROJECT/ENV", match="exact"),
    case("name-empty-segment", "names", "`acme/`", ("process", "acme/"), line="credproc: invalid environment name 'acme/': empty name segment", match="exact"),
    case("name-absolute", "names", "`/etc/passwd`", ("process", "/etc/passwd"), line="credproc: invalid environment name '/etc/passwd': absolute paths are not allowed", match="exact"),
    case("name-space", "names", "`acme/d ev`", ("process", "acme/d ev"), line="credproc: invalid environment name 'acme/d ev': names use only the letters", match="prefix"),
    case("name-backslash", "names", "`acme\\dev`", ("process", "acme\\dev"), line='backslashes are not allowed', match="contains"),
    case("name-long", "names", "a 1 000-character name", ("process", "acme/" + "e" * 1000), line="': longer than 200 characters", match="contains"),
    case("name-control", "names", "a name with an escape character", ("process", "acme/\x1b[31mdev"), line="credproc: invalid environment name 'acme/\\x1b[31mdev': names use only the letters", match="prefix"),
    case("name-missing", "names", "an environment that does not exist", ("process", "acme/nope"),
         line="credproc: environment acme/nope not found"),
    case("name-dash", "names", "`-` as the name", ("process", "-"), line="credproc: invalid environment name '-': a name segment may not start with '-'", match="exact"),
    # --- environment YAML --------------------------------------------------------------------------
    case("yaml-syntax", "environment YAML", "unclosed flow sequence", yaml="values:\n  a: [1, 2\n", line="credproc: acme/dev: yaml: line 3: did not find expected ',' or ']'", match="prefix"),
    case("yaml-tab", "environment YAML", "a tab as indentation", yaml="values:\n\ta: 1\n", line='credproc: acme/dev: yaml: line 2: found character that cannot start any token', match="prefix"),
    case("yaml-list-root", "environment YAML", "a list at the top", yaml="- a\n- b\n", line='credproc: acme/dev:1:1: environment must be an object', match="prefix"),
    case("yaml-empty", "environment YAML", "an empty file", yaml="", line='credproc: acme/dev provides no AWS credentials', match="prefix"),
    case("yaml-invalid-utf8", "environment YAML", "invalid UTF-8", yaml=b"values:\n  a: \xff\xfe\n", line='credproc: acme/dev: yaml: invalid UTF-8 at byte offset 13', match="prefix"),
    case("yaml-nul", "environment YAML", "a NUL byte", yaml=b"values:\n  a: x\x00y\n", line='credproc: acme/dev: yaml: unacceptable character #x0000', match="prefix"),
    case("yaml-deep", "environment YAML", "1 000 nested brackets", yaml=DEEP, line='credproc: acme/dev: yaml: line 2: exceeded maximum nesting depth', match="prefix"),
    case("yaml-alias-bomb", "environment YAML", "a billion-laughs alias bomb", yaml=ALIAS_BOMB, line='credproc: acme/dev:3:10: alias nodes are not supported', match="prefix"),
    case("yaml-cycle", "environment YAML", "a reference cycle", yaml="values:\n  a: ${b}\n  b: ${a}\n  "
         "environmentVariables:\n    AWS_ACCESS_KEY_ID: ${a}\n", line='credproc: acme/dev:2:6: cyclic reference to a', match="prefix"),
    case("yaml-unknown-fn", "environment YAML", "an unknown builtin",
         yaml="values:\n  a:\n    fn::nope: 1\n", line="credproc: acme/dev:3:5: 'fn::' is a reserved prefix", match="prefix"),
    case("yaml-unknown-provider", "environment YAML", "an unknown provider",
         yaml="values:\n  a:\n    fn::open::aws-logon: {}\n", line='credproc: acme/dev:3:5: unknown provider "aws-logon"; did you mean "aws-login"?', match="prefix"),
    case("yaml-no-credentials", "environment YAML", "no AWS credentials at all",
         yaml="values:\n  environmentVariables:\n    OTHER: x\n",
         line="credproc: acme/dev provides no AWS credentials"),
    case("yaml-half-credentials", "environment YAML", "an access key id without its secret",
         yaml="values:\n  environmentVariables:\n    AWS_ACCESS_KEY_ID: AKIAIOSFODNN7EXAMPLE\n", line='credproc: acme/dev: environmentVariables.AWS_SECRET_ACCESS_KEY is missing (hint: the environment must set it)', match="exact"),
    case("yaml-huge", "environment YAML", "a file over the size limit",
         yaml="values:\n  pad: " + "x" * (4 * 1024 * 1024) + "\n", line='credproc: environment acme/dev is too large (4194320 bytes; the limit is 1048576 bytes)', match="exact"),
    # an fn::validate pattern that backtracking engines take minutes on (RE2, as Go: linear time)
    case("yaml-pattern-redos", "environment YAML", "a `pattern` with nested repetition against 41 characters",
         yaml=SCHEMA_REDOS, line='credproc: acme/dev:5:14: string must match the pattern "^([a-z0-9]+-?)+$"', match="prefix"),
    case("yaml-pattern-go-refuses", "environment YAML", "a `pattern` Go's regexp refuses (`\\C`)",
         yaml=SCHEMA_REDOS.replace("^([a-z0-9]+-?)+$", "\\\\C"),
         line="credproc: acme/dev:4:15: invalid schema: error parsing regexp: invalid escape sequence: `\\C`", match="prefix"),
    case("yaml-pattern-nests", "environment YAML", "a `pattern` of parentheses nested 1000 deep (Go's limit)",
         yaml=SCHEMA_REDOS.replace("^([a-z0-9]+-?)+$", "(" * 1000 + "a" + ")" * 1000),
         line="credproc: acme/dev:4:15: invalid schema: error parsing regexp: expression nests too deeply: `((((", match="prefix"),
    case("yaml-pattern-too-large", "environment YAML", "a `pattern` RE2 compiles past 8 MiB (`\\pL{1,500}`; Go accepts it)",
         yaml=SCHEMA_REDOS.replace("^([a-z0-9]+-?)+$", "\\\\pL{1,500}"),
         line="credproc: acme/dev:4:15: invalid schema: error parsing regexp: expression too large", match="prefix"),
    case("yaml-schema-steps", "environment YAML", "a recursive `anyOf` schema whose messages double per level",
         yaml=SCHEMA_STEPS, line="credproc: acme/dev:3:5: evaluation exceeds credproc's limit of 250000 schema validation steps",
         match="prefix"),
    case("login-both", "environment YAML", "aws-login with both oidc and static",
         yaml=login().replace("        oidc:\n", "        static: {accessKeyId: AKIAIOSFODNN7EXAMPLE, "
                                                  "secretAccessKey: x}\n        oidc:\n"), line='credproc: acme/dev:5:9: exactly one subschema may match', match="prefix"),
    case("login-no-role", "environment YAML", "aws-login oidc without roleArn",
         yaml=login().replace(f"          roleArn: {ROLE}\n", ""), line='credproc: acme/dev:6:11: missing required properties: roleArn', match="prefix"),
    case("login-short-role", "environment YAML", "a roleArn that is not an ARN", yaml=login(role="x"), line="credproc: aws-login `oidc.roleArn` must be an IAM role ARN such as arn:aws:iam::123456789012:role/NAME (12-digit account id), got 'x'", match="exact"),
    case("login-typo", "environment YAML", "a misspelt key (`rolArn`)",
         yaml=login(oidc_extra="          rolArn: x\n"), line='credproc: unknown key `rolArn` in aws-login oidc (did you mean `roleArn`?)', match="prefix"),
    case("login-duration-short", "environment YAML", "duration 10m (inside the refresh margin)",
         yaml=login(oidc_extra="          duration: 10m\n"), line='credproc: oidc.duration 10m is below the minimum of 30m', match="prefix"),
    case("login-duration-long", "environment YAML", "duration 13h (above STS's maximum)",
         yaml=login(oidc_extra="          duration: 13h\n"), line="credproc: oidc.duration 13h is above STS's maximum of 12h", match="exact"),
    case("login-duration-garbage", "environment YAML", "duration `soon`",
         yaml=login(oidc_extra="          duration: soon\n"), line='credproc: acme/dev:9:21: string must match the pattern "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$"', match="prefix"),
    case("login-session-name", "environment YAML", "a session name with spaces and a slash",
         yaml=login(session="'bad name/x'"), line='credproc: acme/dev:7:24: string must match the pattern "^[A-Za-z0-9_+=,.@-]+$"', match="prefix"),
    case("login-region", "environment YAML", "region `Mars`", yaml=login(oidc_extra="          region: Mars\n"), line='credproc: acme/dev:9:19: string must match the pattern', match="prefix"),
    case("token-two-kinds", "environment YAML", "a token with two source kinds",
         yaml=login(token="{file: {token_file}, env: TOKEN}"), line='credproc: oidc.token must have exactly one token source kind (command, env, file, githubActions, login); found: env, file', match="exact"),
    case("token-unknown-kind", "environment YAML", "an unknown token source kind",
         yaml=login(token="{ftp: x}"), line="credproc: unknown token source kind 'ftp' in oidc.token; known kinds: command, env, file, githubActions, login", match="exact"),
    case("token-command-empty", "environment YAML", "an empty token command", yaml=login(token="{command: []}"), line='credproc: acme/dev:8:28: expected an array with at least 1 items', match="prefix"),
    # --- token contents ----------------------------------------------------------------------------
    case("token-missing-file", "token contents", "the token file does not exist",
         yaml=login(token="{file: /nonexistent/token}"), code=4,
         line="credproc: the token file /nonexistent/token does not exist"),
    case("token-empty", "token contents", "an empty token file", token="", code=4, line='credproc: the token from file {token_file} is empty', match="exact"),
    case("token-not-jwt", "token contents", "`hello`", token="hello", code=4, line='credproc: the token from file {token_file} is not a JWT: expected 3 dot-separated parts, got 1', match="exact"),
    case("token-two-parts", "token contents", "two dot-separated parts", token="a.b", code=4, line='credproc: the token from file {token_file} is not a JWT: expected 3 dot-separated parts, got 2', match="exact"),
    case("token-bad-base64", "token contents", "a payload that is not base64url", token="eyJ.%%%.c2ln", code=4, line='credproc: the token from file {token_file} is not a JWT: its header is not base64url-encoded JSON', match="exact"),
    case("token-payload-list", "token contents", "a payload that is a JSON list", token=jwt(payload=[1, 2]), code=4,
         line='credproc: the token from file {token_file} is not a JWT: its payload is not a JSON object', match="exact"),
    case("token-no-signature", "token contents", "an empty signature part", token=jwt()[:-4], code=4, line='credproc: the token from file {token_file} is not a signed JWT: its signature part is empty', match="exact"),
    case("token-expired", "token contents", "expired an hour ago", token=jwt(exp=int(time.time()) - 3600), code=4,
         line='credproc: the token from file {token_file} has expired: `exp` is ', match="prefix"),
    case("token-no-exp", "token contents", "no `exp` claim", token=jwt(exp=None), code=4, line='credproc: the token from file {token_file} has no `exp` claim', match="exact"),
    case("token-exp-string", "token contents", "`exp` is a string", token=jwt(exp="tomorrow"), code=4, line='credproc: the token from file {token_file} has a non-numeric `exp` claim', match="exact"),
    case("token-binary", "token contents", "binary bytes", token=b"\x00\xff\xfe garbage", code=4, line='credproc: the token file {token_file} is not UTF-8 text', match="exact"),
    case("token-huge", "token contents", "a 2 MB token", token="a" * (2 * 1024 * 1024), code=4, line='credproc: the token file {token_file} is larger than 256 KiB; an OIDC token is a few KiB', match="exact"),
    case("token-dev-zero", "token contents", "`{file: /dev/zero}` (endless)", yaml=login(token="{file: /dev/zero}"), code=4, line='credproc: cannot read the token file /dev/zero (it must be a readable regular file)', match="exact"),
    case("token-iss-mismatch", "token contents", "`iss` other than the expected issuer",
         yaml=login(token="{file: {token_file}, issuer: 'https://expected.example'}"), code=4, line="credproc: the token from file {token_file} has the wrong `iss`: expected 'https://expected.example', got 'https://issuer.credproc.test'", match="exact"),
    case("token-aud-mismatch", "token contents", "`aud` other than the expected audience",
         yaml=login(token="{file: {token_file}, audience: other-aud}"), code=4, line="credproc: the token from file {token_file} has the wrong `aud`: expected 'other-aud', got 'sts.amazonaws.com'", match="exact"),
    case("token-env-unset", "token contents", "`{env: VAR}` with VAR unset",
         yaml=login(token="{env: CREDPROC_TEST_NO_SUCH_VAR}"), code=4, line='credproc: the environment variable CREDPROC_TEST_NO_SUCH_VAR is not set or empty', match="exact"),
    case("token-command-fails", "token contents", "a token command that exits 3",
         yaml=login(token="{command: [/bin/sh, -c, 'exit 3']}"), code=4, line="credproc: the token command '/bin/sh' failed with exit code 3", match="exact"),
    case("token-command-silent", "token contents", "a token command that prints nothing",
         yaml=login(token="{command: [/bin/true]}"), code=4, line="credproc: the token from command '/bin/true' is empty", match="exact"),
    case("token-command-not-found", "token contents", "a token command that does not exist",
         yaml=login(token="{command: [/nonexistent/helper]}"), code=4, line="credproc: the token command '/nonexistent/helper' was not found", match="exact"),
    case("token-command-hangs", "token contents", "a token command that hangs (timeout 1 s)",
         yaml=login(token="{command: [/bin/sleep, '30'], timeout: 1}"), code=4, line="credproc: the token command '/bin/sleep' timed out after 1s", match="exact"),
    # --- STS responses -----------------------------------------------------------------------------
    case("sts-garbage-200", "STS responses", "200 with a body that is not XML", sts=(200, "not xml at all"), code=6,
         line='credproc: STS in us-east-1 sent an answer for role arn:aws:iam::123456789012:role/esc-dev that credproc cannot read (hint: check that AWS_ENDPOINT_URL_STS (or a proxy) really leads to STS; retry later)', match="exact"),
    case("sts-empty-200", "STS responses", "200 with an empty body", sts=(200, ""), code=6, line='credproc: STS in us-east-1 sent an answer for role arn:aws:iam::123456789012:role/esc-dev that credproc cannot read', match="prefix"),
    case("sts-no-credentials", "STS responses", "200 without Credentials", sts=(200, sts_ok("")), code=6, line='credproc: STS in us-east-1 sent an answer for role arn:aws:iam::123456789012:role/esc-dev that credproc cannot read', match="prefix"),
    case("sts-bad-expiration", "STS responses", "200 with Expiration `tomorrow`",
         sts=(200, sts_ok("<Credentials><AccessKeyId>ASIAXXXXXXXXXXXXXXXX</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
                          "<SessionToken>t</SessionToken><Expiration>tomorrow</Expiration></Credentials>")),
         code=6, line='credproc: STS in us-east-1 sent an answer for role arn:aws:iam::123456789012:role/esc-dev that credproc cannot read', match="prefix"),
    case("sts-unknown-error", "STS responses", "400 with an unknown error code",
         sts=(400, sts_error("WeirdError", "something odd")), code=5,
         line=f"credproc: STS refused assuming role {ROLE} (WeirdError: something odd)", match="exact"),
    case("sts-duration", "STS responses", "400 ValidationError: duration above the role's maximum",
         sts=(400, sts_error("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                                                "this role.")), code=5, line='credproc: the requested duration 3600s exceeds the maximum session duration of role arn:aws:iam::123456789012:role/esc-dev (ValidationError: ', match="prefix"),
    case("sts-idp-rejected", "STS responses", "403 IDPRejectedClaim", sts=(403, sts_error("IDPRejectedClaim", "aud")),
         code=5, line="credproc: the identity provider's claims were rejected for role arn:aws:iam::123456789012:role/esc-dev (IDPRejectedClaim: aud); token claims: iss='https://issuer.credproc.test', aud='sts.amazonaws.com', sub='org:acme:env:dev'", match="prefix"),
    case("sts-html-502", "STS responses", "502 with an HTML page (a proxy)", sts=(502, "<html>Bad Gateway</html>"),
         code=6, line='credproc: STS failed for role arn:aws:iam::123456789012:role/esc-dev after 3 attempts (502) (hint: retry later)', match="exact"),
    case("sts-error-secretish", "STS responses", "an error message echoing the token",
         sts=(400, sts_error("InvalidIdentityToken", "{token}")), code=5, line='credproc: STS rejected the token for role arn:aws:iam::123456789012:role/esc-dev (InvalidIdentityToken: <token>); token claims:', match="prefix"),
    # --- ~/.aws/config contents --------------------------------------------------------------------
    case("config-no-section", "~/.aws/config", "an option before any section", ("install-profile", "acme/dev"),
         yaml=STATIC, config="region = us-east-1\n[default]\n", line='credproc: {config_file} cannot be read by the AWS CLI and SDKs (line 1 comes before any [section] header) (hint: fix it first, or use --force to add the profile anyway)', match="exact"),
    case("config-role-arn", "~/.aws/config", "the profile already has role_arn", ("install-profile", "acme/dev"),
         yaml=STATIC, config="[profile esc-dev]\nrole_arn = arn:aws:iam::1:role/x\n", line='credproc: profile esc-dev in {config_file} already has role_arn (hint: use --force', match="prefix"),
    case("config-foreign-process", "~/.aws/config", "someone else's credential_process",
         ("install-profile", "acme/dev"), yaml=STATIC,
         config="[profile esc-dev]\ncredential_process = /usr/bin/aws-vault export --format=json dev\n", line="credproc: profile esc-dev in {config_file} already has another tool's credential_process", match="prefix"),
    case("config-twice", "~/.aws/config", "the profile defined twice", ("install-profile", "acme/dev"), yaml=STATIC,
         config="[profile esc-dev]\nregion = a\n[profile esc-dev]\nregion = b\n", line='credproc: {config_file} cannot be read by the AWS CLI and SDKs (section [profile esc-dev] appears twice, line 3)', match="prefix"),
    case("config-shadowed", "~/.aws/config", "a credentials-file section that would shadow it",
         ("install-profile", "acme/dev"), yaml=STATIC,
         credentials="[esc-dev]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n", line='credproc: [esc-dev] in {credentials_file} sets aws_access_key_id, aws_secret_access_key, which the AWS CLI and SDKs use before credential_process', match="prefix"),
    case("config-binary", "~/.aws/config", "invalid UTF-8 in the config file", ("install-profile", "acme/dev"),
         yaml=STATIC, config=b"[default]\nregion = \xff\xfe\n", line='credproc: {config_file} cannot be read by the AWS CLI and SDKs (bytes that are not valid', match="prefix"),
    case("config-is-directory", "~/.aws/config", "AWS_CONFIG_FILE is a directory", ("install-profile", "acme/dev"),
         yaml=STATIC, env={"AWS_CONFIG_FILE": "{tmp}"}, line='credproc: {tmp} is a directory, not an AWS config file', match="exact"),
    case("config-uninstall-foreign", "~/.aws/config", "`uninstall-profile` of a profile credproc did not write",
         ("uninstall-profile", "work"), config="[profile work]\ncredential_process = /bin/other\n", line='credproc: profile work in {config_file} has a credential_process that does not run credproc', match="prefix"),
    # --- environment variables ---------------------------------------------------------------------
    case("var-margin-text", "environment variables", "CREDPROC_REFRESH_MARGIN=soon",
         env={"CREDPROC_REFRESH_MARGIN": "soon"},
         line="credproc: CREDPROC_REFRESH_MARGIN must be a whole number of minutes, got 'soon'"),
    case("var-margin-low", "environment variables", "CREDPROC_REFRESH_MARGIN=10 (below 16)",
         env={"CREDPROC_REFRESH_MARGIN": "10"}, line="credproc: CREDPROC_REFRESH_MARGIN=10 is below the minimum"),
    case("var-lock-timeout", "environment variables", "CREDPROC_LOCK_TIMEOUT=-1",
         env={"CREDPROC_LOCK_TIMEOUT": "-1"}, line="credproc: CREDPROC_LOCK_TIMEOUT must be a number of seconds more than 0 and at most 3600, got '-1' (hint: unset CREDPROC_LOCK_TIMEOUT for the default of 45)", match="exact"),
    case("var-chain", "environment variables", "CREDPROC_CHAIN already holds the environment",
         env={"CREDPROC_CHAIN": "acme/dev"}, code=8, line="credproc: credproc process acme/dev was started by itself"),
    case("var-chain-deep", "environment variables", "CREDPROC_CHAIN three deep",
         env={"CREDPROC_CHAIN": "a/a,b/b,c/c"}, code=8, line="credproc: credproc processes nested more than 3 deep"),
    case("chain-duration-long", "environment YAML", "aws-assume-role duration 2h (a chained session is capped at 1h)",
         yaml=chained("        duration: 2h\n"), line="credproc: aws-assume-role `duration` 2h is above 1h: AWS caps role-chaining sessions (a role assumed with another role session's keys) at 1 hour (hint: use duration: 1h or less)", match="exact", may_cache=True),
    case("chain-duration-long-check", "environment YAML", "the same, found by `env check` (the login is not known there)",
         ("env", "check", "acme/dev"), yaml=chained("        duration: 2h\n"), line="acme/dev:10:7: aws-assume-role `duration` 2h is above 1h: AWS caps role-chaining sessions (a role assumed with another role session's keys) at 1 hour", match="exact"),
    case("chain-login-no-secret", "environment YAML", "aws-assume-role login without secretAccessKey",
         yaml=chained(login_keys="\n          accessKeyId: ${aws.login.accessKeyId}"), line='credproc: aws-assume-role `login` has no secretAccessKey (hint: point login at an aws-login (or aws-assume-role) value, e.g. login: ${aws.login})', match="exact", may_cache=True),
    case("chain-role-not-arn", "environment YAML", "aws-assume-role roleArn naming a bucket, not a role",
         yaml=chained(role="arn:aws:s3:::a-bucket-not-a-role"), line="credproc: aws-assume-role `roleArn` 'arn:aws:s3:::a-bucket-not-a-role' is not an IAM role ARN (hint: it looks like arn:aws:iam::123456789012:role/NAME)", match="exact", may_cache=True),
    case("secrets-unknown-key", "environment YAML", "aws-secrets entry with a misspelled key (env check, no AWS call)",
         ("env", "check", "acme/dev"), yaml=with_secrets("        get: {db: {secretId: prod-db, versionStag: AWSCURRENT}}\n"),
         line="acme/dev:9:7: get.db: unknown key 'versionStag' (expected one of secretId, versionId, versionStage)", match="exact"),
    case("secrets-too-many", "environment YAML", "aws-secrets asked for 101 entries in one fn::open",
         ("env", "check", "acme/dev"), yaml=with_secrets("        get: {" + ", ".join(f"s{i}: {{secretId: s{i}}}" for i in range(101)) + "}\n"),
         line="acme/dev:9:7: get has 101 entries; at most 100 are read in one fn::open", match="exact"),
    case("secrets-bad-region", "environment YAML", "aws-parameter-store region that is not a region",
         ("env", "check", "acme/dev"), yaml=with_secrets("        get: {db: {name: /app/db}}\n", provider="aws-parameter-store", region="Frankfurt"),
         line='acme/dev:10:17: string must match the pattern "^[a-z]{2}(-[a-z]+)+-[0-9]+$"', match="prefix"),
    case("secrets-endpoint-closed", "environment variables", "AWS_ENDPOINT_URL_SECRETS_MANAGER at a closed port",
         ("env", "open", "acme/dev"), yaml=with_secrets("        get: {db: {secretId: prod-db}}\n"),
         env={"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9"}, code=2,
         line="acme/dev:9:7: get.db: secret 'prod-db': cannot reach Secrets Manager at http://127.0.0.1:9", match="prefix"),
    case("var-cache-dir-file", "environment variables", "CREDPROC_CACHE_DIR is a file",
         env={"CREDPROC_CACHE_DIR": "{token_file}"}, line='credproc: cache directory {token_file} is not a directory (hint: remove it or set CREDPROC_CACHE_DIR to a private directory)', match="exact"),
    case("var-endpoint-garbage", "environment variables", "AWS_ENDPOINT_URL_STS=not a url",
         env={"AWS_ENDPOINT_URL_STS": "not a url"}, code=2, line='credproc: acme/dev:5:7: Invalid endpoint: not a url', match="prefix"),
    case("var-endpoint-closed", "environment variables", "AWS_ENDPOINT_URL_STS at a closed port",
         env={"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:9"}, code=6, line='credproc: cannot reach STS in us-east-1 for role arn:aws:iam::123456789012:role/esc-dev after 3 attempts (EndpointConnectionError)', match="prefix"),
    case("var-region-garbage", "environment variables", "AWS_REGION=../../etc",
         env={"AWS_REGION": "../../etc"}, code=2, line="credproc: acme/dev:5:7: Provided region_name '../../etc' doesn't match a supported format.", match="prefix"),
    case("var-env-dir-missing", "environment variables", "CREDPROC_ENV_DIR points nowhere",
         env={"CREDPROC_ENV_DIR": "/nonexistent/envs"}, line="credproc: environment acme/dev not found"),
    # --- pulumi:ORG/PROJECT/ENV (Pulumi Cloud; the service itself: tests/pulumi) ---------------------
    case("pulumi-two-segments", "names", "`pulumi:acme/dev` (Pulumi names every environment with its project)",
         ("process", "pulumi:acme/dev"), line="credproc: invalid environment name 'pulumi:acme/dev': expected pulumi:ORG/PROJECT/ENV", match="exact"),
    case("pulumi-org-too-short", "names", "a two-letter Pulumi organization (the service's minimum is 3)",
         ("env", "open", "pulumi:ab/proj/dev"), line="credproc: invalid environment name 'pulumi:ab/proj/dev': a Pulumi organization name has 3 to 40 characters", match="exact"),
    case("pulumi-dotdot", "names", "`pulumi:acme/../dev`", ("install-profile", "pulumi:acme/../dev"),
         line="credproc: invalid environment name 'pulumi:acme/../dev': names use only the letters A-Z a-z, digits, '-', '_' and '.', and start with a letter, digit or '_'", match="exact"),
    case("pulumi-edit-refused", "names", "`env set` on an environment of Pulumi Cloud",
         ("env", "set", "pulumi:acme/proj/dev", "a", "b"), line="credproc: 'pulumi:acme/proj/dev' is an environment of Pulumi Cloud: this command works only on environments of the local store (hint: change it in Pulumi Cloud (esc env edit ...))", match="exact"),
    case("pulumi-no-token", "environment variables", "`pulumi:` ref without PULUMI_ACCESS_TOKEN or a saved Pulumi login",
         ("process", "pulumi:acme/proj/dev"), code=4,
         line="credproc: no Pulumi access token for https://api.pulumi.com: PULUMI_ACCESS_TOKEN is not set and no "),
    case("pulumi-backend-http", "environment variables", "PULUMI_BACKEND_URL=http://pulumi.example.com (token in clear)",
         ("process", "pulumi:acme/proj/dev"), env={"PULUMI_BACKEND_URL": "http://pulumi.example.com", "PULUMI_ACCESS_TOKEN": "pul-badinput-token-0001"},
         line="credproc: PULUMI_BACKEND_URL uses plain http to pulumi.example.com: the access token would travel in clear (hint: use https (plain http is accepted for loopback addresses, e.g. 127.0.0.1, and localhost only))", match="exact"),
    case("pulumi-backend-http-127-name", "environment variables", "PULUMI_BACKEND_URL=http://127.0.0.1.nip.io (a name that starts like a loopback address)",
         ("process", "pulumi:acme/proj/dev"), env={"PULUMI_BACKEND_URL": "http://127.0.0.1.nip.io", "PULUMI_ACCESS_TOKEN": "pul-badinput-token-0001"},
         line="credproc: PULUMI_BACKEND_URL uses plain http to 127.0.0.1.nip.io: the access token would travel in clear"),
    case("pulumi-token-control", "environment variables", "PULUMI_ACCESS_TOKEN with a CR LF and a header in it",
         ("process", "pulumi:acme/proj/dev"), env={"PULUMI_BACKEND_URL": "https://api.pulumi.com", "PULUMI_ACCESS_TOKEN": "pul-abc\r\nX: 1"},
         code=4, line="credproc: PULUMI_ACCESS_TOKEN is not a Pulumi access token: it holds spaces, control or non-ASCII characters"),
    case("pulumi-backend-file", "environment variables", "PULUMI_BACKEND_URL=file://~ (a self-managed state backend)",
         ("process", "pulumi:acme/proj/dev"), env={"PULUMI_BACKEND_URL": "file://~", "PULUMI_ACCESS_TOKEN": "pul-badinput-token-0001"},
         line="credproc: PULUMI_BACKEND_URL names a backend without Pulumi ESC (file://)"),
    case("pulumi-backend-closed", "environment variables", "PULUMI_BACKEND_URL at a closed port",
         ("process", "pulumi:acme/proj/dev"), env={"PULUMI_BACKEND_URL": "http://127.0.0.1:9", "PULUMI_ACCESS_TOKEN": "pul-badinput-token-0001"},
         code=6, line="credproc: pulumi:acme/proj/dev: cannot reach the Pulumi service at http://127.0.0.1:9"),
    # --- gcp-login (fn::open::gcp-login) ----------------------------------------------------------------
    case("gcp-project-id", "gcp-login", "`project` given as the project id, not its number",
         ("env", "check", "acme/dev"), yaml=gcp(project="my-project"),
         line="acme/dev:4:7: gcp-login `project` must be the project number (digits, e.g. 123456789012), got 'my-project'", match="exact"),
    case("gcp-both", "gcp-login", "both `oidc` and `accessToken`", ("env", "check", "acme/dev"),
         yaml=gcp(oidc_extra="        accessToken: {accessToken: x}\n"),
         line="acme/dev:5:9: exactly one subschema may match", match="exact"),
    case("gcp-pool-id", "gcp-login", "a workloadPoolId with capitals", ("env", "check", "acme/dev"), yaml=gcp(pool="Credproc_Pool"),
         line="acme/dev:4:7: gcp-login `oidc.workloadPoolId` must be a workload identity pool or provider id (4 to 32 lower-case letters, digits and dashes), got 'Credproc_Pool'", match="exact"),
    case("gcp-service-account", "gcp-login", "a serviceAccount that is not an e-mail", ("env", "check", "acme/dev"),
         yaml=gcp(account="deploy"), line="acme/dev:4:7: gcp-login `oidc.serviceAccount` must be a service account e-mail", match="prefix"),
    case("gcp-unknown-key", "gcp-login", "a misspelled oidc key", ("env", "check", "acme/dev"),
         yaml=gcp(oidc_extra="          tokenLifeTime: 2h\n"),
         line="acme/dev:4:7: unknown key `tokenLifeTime` in gcp-login oidc (did you mean `tokenLifetime`?)", match="prefix"),
    case("gcp-lifetime-13h", "gcp-login", "tokenLifetime above IAM Credentials' 12h", ("env", "check", "acme/dev"),
         yaml=gcp(oidc_extra="          tokenLifetime: 13h\n"),
         line="acme/dev:4:7: gcp-login `oidc.tokenLifetime` 13h is outside IAM Credentials' range (1s to 12h; over 1h only with the organization policy constraint constraints/iam.allowServiceAccountCredentialLifetimeExtension)", match="exact"),
    case("gcp-lifetime-margin", "gcp-login", "tokenLifetime inside the refresh margin", GCP_OPEN,
         yaml=gcp(oidc_extra="          tokenLifetime: 15m\n"),
         line="acme/dev:4:7: oidc.tokenLifetime 15m is not longer than the refresh margin of 20 minutes", match="prefix"),
    case("gcp-sts-url-http", "gcp-login", "CREDPROC_GCP_STS_URL in plain http off loopback", GCP_OPEN, yaml=gcp(),
         env={"CREDPROC_GCP_STS_URL": "http://sts.example.com/v1/token"},
         line="acme/dev:4:7: CREDPROC_GCP_STS_URL must be an https URL (plain http only on 127.0.0.1/localhost), got 'http://sts.example.com/v1/token'", match="prefix"),
    case("gcp-sts-closed", "gcp-login", "CREDPROC_GCP_STS_URL at a closed port", GCP_OPEN, yaml=gcp(), code=6,
         env={"CREDPROC_GCP_STS_URL": "http://127.0.0.1:9/v1/token"},
         line="acme/dev:4:7: cannot reach Google STS at http://127.0.0.1:9/v1/token", match="prefix"),
    case("gcp-iam-url-garbage", "gcp-login", "CREDPROC_GCP_IAM_CREDENTIALS_URL=not a url", GCP_OPEN, yaml=gcp(),
         env={"CREDPROC_GCP_IAM_CREDENTIALS_URL": "not a url"},
         line="acme/dev:4:7: CREDPROC_GCP_IAM_CREDENTIALS_URL must be an https URL", match="prefix"),
    case("gcp-project-superscript", "gcp-login", "`project: \"¹²³\"` (digits to str.isdigit, not ASCII)", ("env", "check", "acme/dev"),
         yaml=gcp(project='"¹²³"'),
         line="acme/dev:4:7: gcp-login `project` must be the project number (digits, e.g. 123456789012), got '¹²³'", match="exact"),
    case("gcp-project-negative", "gcp-login", "`project: -5`", ("env", "check", "acme/dev"), yaml=gcp(project="-5"),
         line="acme/dev:4:7: gcp-login `project` must be the project number (digits, e.g. 123456789012), got -5", match="exact"),
    case("gcp-project-object", "gcp-login", "`project: {a: 1}`", ("env", "check", "acme/dev"), yaml=gcp(project="{a: 1}"),
         line="acme/dev:4:7: gcp-login `project` must be the project number (digits, e.g. 123456789012), got {a: 1}", match="exact"),
    case("gcp-account-newline", "gcp-login", "a serviceAccount ending in a newline", ("env", "check", "acme/dev"),
         yaml=gcp(account='"deploy@acme-prod.iam.gserviceaccount.com\\n"'),
         line="acme/dev:4:7: gcp-login `oidc.serviceAccount` must be a service account e-mail such as deploy@my-project.iam.gserviceaccount.com, got 'deploy@acme-prod.iam.gserviceaccount.com\\n'", match="exact"),
    case("gcp-lifetime-newline", "gcp-login", "`tokenLifetime: \"1h\\n\"`", ("env", "check", "acme/dev"),
         yaml=gcp(oidc_extra='          tokenLifetime: "1h\\n"\n'),
         line="acme/dev:4:7: gcp-login `oidc.tokenLifetime` must look like 1h, 45m or 3600s, got '1h\\n'", match="exact"),
    case("gcp-static-token-nul", "gcp-login", "a static accessToken with a NUL", ("env", "check", "acme/dev"),
         yaml='values:\n  gcp:\n    login:\n      fn::open::gcp-login:\n        project: 123\n        accessToken:\n'
              '          accessToken: "ya29.a\\u0000b"\n          serviceAccount: deploy@acme-prod.iam.gserviceaccount.com\n',
         line="acme/dev:4:7: gcp-login `accessToken.accessToken` is not an access token: it must be visible ASCII", match="prefix"),
    case("gcp-trust-newline", "arguments", "`issuer trust-policy --cloud gcp` with a newline in --subject-attribute",
         ("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--subject-attribute", "pulumi.user.login=bob\ntouch /tmp/X #"),
         line="credproc: --subject-attribute #1 contains a control character: 'pulumi.user.login=bob\\ntouch /tmp/X #'", match="exact"),
    case("gcp-trust-escape", "arguments", "`issuer trust-policy --cloud gcp` with ESC in --location",
         ("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--location", "global\x1b]0;x\x07"),
         line="credproc: --location contains a control character: 'global\\x1b]0;x\\x07'", match="exact"),
    case("gcp-trust-project", "arguments", "`issuer trust-policy --cloud gcp --project-number my-project`",
         ("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--project-number", "my-project"),
         line="credproc: --project-number must be a project number (digits, e.g. 123456789012) (as gcp-login requires), got 'my-project'", match="exact"),
    case("gcp-trust-pool", "arguments", "`issuer trust-policy --cloud gcp --pool 'a b'`",
         ("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--pool", "a b"),
         line="credproc: --pool must be a workload identity pool id (4 to 32 lower-case letters, digits and dashes) (as gcp-login requires), got 'a b'", match="exact"),
    case("gcp-trust-account", "arguments", "`issuer trust-policy --cloud gcp --service-account deploy`",
         ("issuer", "trust-policy", "acme/dev", "--cloud", "gcp", "--service-account", "deploy"),
         line="credproc: --service-account must be a service account e-mail such as deploy@my-project.iam.gserviceaccount.com (as gcp-login requires), got 'deploy'", match="exact"),
    # --- azure-login (kept together) ----------------------------------------------------------------
    case("azure-unknown-key", "environment YAML", "azure-login with a misspelled key (env check, no Entra call)",
         ("env", "check", "acme/dev"), yaml=azure("        oidc: true\n        scopes: https://vault.azure.net/.default\n"),
         line='acme/dev:4:7: unknown key `scopes` in azure-login (did you mean `scope`?); known keys: audience, clientId, clientSecret, oidc, scope, subjectAttributes, subscriptionId, tenantId, token', match="exact"),
    case("azure-oidc-string", "environment YAML", "azure-login `oidc: \"true\"` (a string, not a boolean)",
         ("env", "check", "acme/dev"), yaml=azure('        oidc: "true"\n'), line='acme/dev:8:15: expected boolean, got string', match="exact"),
    case("azure-no-tenant", "environment YAML", "azure-login without tenantId",
         ("env", "check", "acme/dev"), yaml=azure().replace("        tenantId: 11111111-2222-3333-4444-555555555555\n", ""),
         line='acme/dev:5:9: missing required properties: tenantId', match="exact"),
    case("azure-scope-without-oidc", "environment YAML", "azure-login `scope` without `oidc: true`",
         ("env", "check", "acme/dev"), yaml=azure("        scope: https://vault.azure.net/.default\n"), line='acme/dev:4:7: azure-login `scope` only applies with `oidc: true`', match="exact"),
    case("azure-authority-http", "environment variables", "AZURE_AUTHORITY_HOST over plain http to another host",
         ("env", "open", "acme/dev"), yaml=azure(), env={"AZURE_AUTHORITY_HOST": "http://login.example.com"},
         line="acme/dev:4:7: AZURE_AUTHORITY_HOST must be an https URL (plain http only on 127.0.0.1/localhost), got 'http://login.example.com'", match="exact"),
    case("azure-authority-closed", "environment variables", "AZURE_AUTHORITY_HOST at a closed port",
         ("run", "acme/dev", "--", "true"), yaml=azure(), env={"AZURE_AUTHORITY_HOST": "http://127.0.0.1:9"}, code=6,
         line='acme/dev:4:7: cannot reach the Entra ID token endpoint http://127.0.0.1:9/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token: ', match="prefix"),
    case("azure-expires-huge", "Entra ID responses", "200 with `expires_in` 10^20 (beyond any clock)",
         ("run", "acme/dev", "--", "true"), yaml=azure(), code=6,
         entra=(200, '{"access_token": "AZX-not-used", "token_type": "Bearer", "expires_in": 100000000000000000000}'),
         line="acme/dev:4:7: the Entra ID token endpoint {entra}/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token answered an expires_in of 100000000000... seconds, outside 1..86400 (24 hours); not used", match="exact"),
    case("azure-expires-short", "Entra ID responses", "200 with `expires_in` 1 (less than the refresh margin)",
         ("run", "acme/dev", "--", "true"), yaml=azure(), code=6,
         entra=(200, '{"access_token": "AZX-not-used", "token_type": "Bearer", "expires_in": 1}'),
         line="acme/dev:4:7: Entra ID gave acme/dev an access token valid for ", match="prefix"),
    case("azure-token-escape", "Entra ID responses", "200 with an access token holding an escape sequence",
         ("run", "acme/dev", "--", "true"), yaml=azure(), code=6,
         entra=(200, '{"access_token": "AZX\\u001b]0;owned\\u0007", "token_type": "Bearer", "expires_in": 3600}'),
         line="acme/dev:4:7: the Entra ID token endpoint {entra}/11111111-2222-3333-4444-555555555555/oauth2/v2.0/token answered an access_token with characters no bearer token holds (control, space or non-ASCII); not used", match="exact"),
    # --- credproc gcp-token: the feed run's masker watches (kept together) ---------------------------
    case("gcp-token-feed-type", "gcp-token spec", "a token spec whose `feed` is not a string",
         ("gcp-token", "{token_file}"), token=gcp_token_spec(feed=5), stdout=GCP_TOKEN_FAILED,
         line="credproc: '{token_file}' is not a token spec written by `credproc run`: `feed` must be a non-empty string or null",
         match="exact"),
    case("gcp-token-feed-gone", "gcp-token spec", "a token spec whose feed file is gone (nothing is minted)",
         ("gcp-token", "{token_file}"), token=gcp_token_spec(feed="/nonexistent/credproc-feed"), stdout=GCP_TOKEN_FAILED,
         line="credproc: could not tell `credproc run` the new token ('/nonexistent/credproc-feed'): No such file or directory",
         match="exact"),
]

"""credproc.commands.run.masking in-process: which strings are secret, the forms each is masked in, one length rule."""
import base64
import json
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st

from credproc.commands.run import masking
from credproc.lang.values import Number, Value


def mask_all(secrets, chunks):
    masker = masking.SecretMasker(secrets)
    return b"".join(masker.feed(c) for c in chunks) + masker.finish()


def obj(**members):
    return Value(members)


# --- the length rule ------------------------------------------------------------------------------

def test_the_minimum_length_counts_characters_not_bytes():
    assert masking.MIN_SECRET_LENGTH == 3
    assert mask_all(["é1"], ["x é1 y".encode()]) == "x é1 y".encode()  # 2 characters, 3 bytes
    assert mask_all(["pé"], ["pé".encode()]) == "pé".encode()
    assert mask_all(["péé"], ["x péé".encode()]) == b"x [secret]"  # 3 characters, 5 bytes
    assert masking.mask_variants("ab") == set()


def test_every_masker_path_uses_the_same_rule():
    value = obj(short=Value("ab", secret=True), ok=Value("abc", secret=True),
                doc=Value(json.dumps({"k": "xy", "k2": "xyz"}), secret=True))
    leaves = masking.secret_leaves(value)
    assert "ab" not in leaves and "xy" not in leaves
    assert {"abc", "xyz"} <= leaves
    assert all(len(v) >= 3 for v in masking.mask_variants("a\nbcd\nef"))


# --- which strings are secret -----------------------------------------------------------------------

def test_every_leaf_under_a_secret_node_is_secret():
    value = obj(
        plain=Value("visible"),
        pw=Value("hunter2", secret=True),
        creds=Value({"user": Value("bob-user"), "port": Value(Number("5432"))}, secret=True),
        deep=obj(list=Value([Value("x-item"), Value("token-1", secret=True)])),
        unknown=Value(None, unknown=True, secret=True),
    )
    assert masking.secret_leaves(value) == {"hunter2", "bob-user", "5432", "token-1"}
    assert masking.secret_leaves(None) == set()


def test_members_of_a_secret_json_document_are_masked_except_plain_values():
    document = json.dumps({"user": "app-user", "token": "inline-only", "nested": ["deep-one", 7]})
    value = obj(user=Value("app-user"), config=Value(document, secret=True))
    leaves = masking.secret_leaves(value)
    assert {"inline-only", "deep-one", document} <= leaves
    assert "app-user" not in leaves  # the environment has it as a plain value


def test_the_text_inside_secret_base64_is_masked():
    encoded = base64.b64encode(b"decoded-secret").decode()
    leaves = masking.secret_leaves(obj(b=Value(encoded, secret=True)))
    assert "decoded-secret" in leaves
    assert masking.secret_leaves(obj(b=Value(base64.b64encode(b"\xff\xfe\x00binary").decode(), secret=True))) \
        == {base64.b64encode(b"\xff\xfe\x00binary").decode()}


# --- derived forms ----------------------------------------------------------------------------------

def test_json_escaped_forms_are_masked():
    secret = 'quo"te\\back\nslash<é>'
    go_form = json.dumps(secret, ensure_ascii=False)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e")
    for form in (go_form, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]):
        assert mask_all([secret], [b'{"pw": "' + form.encode() + b'"}']) == b'{"pw": "[secret]"}', form


def test_base64_forms_are_masked():
    secret = "hunter2-very-secret?"
    for encoded in (base64.b64encode(secret.encode()), base64.urlsafe_b64encode(secret.encode()).rstrip(b"="),
                    base64.b64encode(secret.encode() + b"\n")):
        assert mask_all([secret], [b"v=" + encoded + b";"]) == b"v=[secret];", encoded


def test_percent_encoded_form_is_masked():
    secret = "p@ss/w0rd:x"
    assert mask_all([secret], [f"postgres://u:{quote(secret, safe='')}@h/db".encode()]) == b"postgres://u:[secret]@h/db"


def test_a_multiline_secret_on_a_terminal_and_line_by_line():
    key = "-----BEGIN KEY-----\nMIIBbody\n-----END KEY-----\n"
    assert mask_all([key], [key.replace("\n", "\r\n").encode()]) == b"[secret]"
    assert mask_all([key], [b"MIIBbody\n"]) == b"[secret]\n"


def test_the_longest_of_overlapping_secrets_wins_across_chunks():
    secrets = ["abcdef", "abcdefghij"]
    assert mask_all(secrets, [b"xabcdefg", b"hij!"]) == b"x[secret]!"
    assert mask_all(secrets, [b"xabcdefg", b"h!"]) == b"x[secret]gh!"


def test_non_utf8_secret_text_is_masked_as_its_bytes():
    secret = b"\xffraw-bytes".decode("utf-8", "surrogateescape")
    assert mask_all([secret], [b"a \xffraw-bytes b"]) == b"a [secret] b"


@settings(max_examples=150, deadline=None)
@given(
    secret=st.text(alphabet='ab"\\\n', min_size=3, max_size=8),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=4),
)
def test_chunking_never_changes_what_derived_forms_mask(secret, cuts):
    data = (b"<" + json.dumps(secret).encode() + b"|" + base64.b64encode(secret.encode()) + b">")
    whole = mask_all([secret], [data])
    points = sorted(set(min(c, len(data)) for c in cuts))
    chunks = [data[a:b] for a, b in zip([0] + points, points + [len(data)])]
    assert mask_all([secret], chunks) == whole
    assert json.dumps(secret).encode()[1:-1] not in whole
    assert base64.b64encode(secret.encode()) not in whole

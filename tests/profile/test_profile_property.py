"""Property tests over generated AWS config files (comments, odd spacing, nested blocks, CRLF, lone
CR, no final newline, a pre-existing target section in several spellings):

* install then uninstall gives back the file byte for byte;
* install changes nothing botocore sees except the one profile, and botocore sees our line there;
* our line classifier agrees with botocore's parser (configparser.RawConfigParser) on every file.
"""
import io
import os
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

sys.path.insert(0, os.path.dirname(__file__))
from profilehelp import FAKE_LAUNCHER, FAKE_LINE, read_bytes, write_bytes  # noqa: E402

from credproc.aws import edits, ini  # noqa: E402
from credproc.commands import profile  # noqa: E402
from credproc.errors import ConfigError  # noqa: E402

TARGET_HEADERS = ["[profile esc-dev]", '[profile "esc-dev"]', "[profile   esc-dev]", "  [profile esc-dev]  ",
                  "[profile esc-dev] ; mine"]
OTHER_HEADERS = ["[default]", "[profile a]", "[profile esc-prod]", '[profile "with space"]', "[sso-session corp]",
                 "[services local]", "[plugins]", "[preview]"]
SAFE_KEYS = ["region", "output", "endpoint_url", "cli_pager", "retry_mode", "max_attempts", "ca_bundle"]
ANY_KEYS = SAFE_KEYS + ["role_arn", "source_profile", "sso_start_url", "sso_region", "credential_process",
                        "aws_access_key_id"]
VALUES = ["eu-west-1", "eu-central-1", "json", "text", "http://localhost:4566", "a b  c", "x=y", "", "10",
          "/usr/bin/tool --flag", "caf\udce9"]
COMMENTS = ["# comment", "; comment", "   # indented comment", "#", ";;", "# [profile esc-dev] in a comment",
            "# caf\udce9"]
BLANKS = ["", "   ", "\t"]
# More examples for a soak run: PROFILE_PROPERTY_EXAMPLES=5000 pytest tests/profile/test_profile_property.py
EXAMPLES = int(os.environ.get("PROFILE_PROPERTY_EXAMPLES", "150"))


@st.composite
def option_lines(draw, keys):
    lines = []
    for key in draw(st.lists(st.sampled_from(keys), unique=True, max_size=4)):
        if key in ("endpoint_url",) and draw(st.booleans()):  # a nested block, as for `s3 =`
            lines.append(f"{key} =")
            lines += [f"    {k} = {draw(st.sampled_from(VALUES))}" for k in ("a", "b")[: draw(st.integers(1, 2))]]
            continue
        value = draw(st.sampled_from(VALUES))
        style = draw(st.sampled_from(["{k}={v}", "{k} = {v}", "{k}\t=\t{v}", "{k}: {v}", "{k}   =    {v}"]))
        lines.append(style.format(k=key, v=value).rstrip() if value == "" else style.format(k=key, v=value))
        lines += draw(st.lists(st.sampled_from(COMMENTS + BLANKS), max_size=1))
    return lines


@st.composite
def configs(draw):
    lines = draw(st.lists(st.sampled_from(COMMENTS + BLANKS), max_size=2))
    headers = draw(st.lists(st.sampled_from(OTHER_HEADERS), unique=True, max_size=4))
    if draw(st.booleans()):
        headers.insert(draw(st.integers(0, len(headers))), draw(st.sampled_from(TARGET_HEADERS)))
    for header in headers:
        lines.append(header)
        lines += draw(option_lines(SAFE_KEYS if "esc-dev" in header else ANY_KEYS))
        lines += draw(st.lists(st.sampled_from(COMMENTS + BLANKS), max_size=2))
    mode = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    endings = [draw(st.sampled_from(["\n", "\r\n", "\r"])) if mode == "mixed" else mode for _ in lines]
    text = "".join(line + ending for line, ending in zip(lines, endings))
    if text and draw(st.booleans()):
        text = text.rstrip("\r\n") if draw(st.booleans()) else text[: -len(endings[-1])]
    assume(ini.botocore_parse_problem(text) is None)
    return text


install_args = st.fixed_dictionaries({"region": st.sampled_from([None, "eu-central-1", "eu-west-1"]),
                                      "output": st.sampled_from([None, "json"])})


def _parsed(text):
    parser = ini.parse_like_botocore(text)
    return {s: dict(parser.items(s, raw=True)) for s in parser.sections()}


def _target_present(text):
    lines = ini.split_lines(text)
    return bool(ini.profile_sections(ini.sections_of(ini.classify(lines)), "esc-dev"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=configs(), args=install_args)
def test_install_then_uninstall_is_the_identity(text, args):
    try:
        edit = edits.plan_install(text, "esc-dev", FAKE_LINE, **args)
    except ConfigError as exc:  # only when the existing section already sets region/output differently
        assert "already has region" in str(exc) or "already has output" in str(exc), exc
        return
    assert edit.changed
    undone = edits.plan_uninstall(edit.new_text, "esc-dev", edit.record)
    assert undone.new_text == text
    if not _target_present(text):  # without the install record, the shape alone is enough
        assert edits.plan_uninstall(edit.new_text, "esc-dev", None).new_text == text


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=configs(), args=install_args)
def test_install_changes_only_the_profile_botocore_sees(text, args):
    try:
        edit = edits.plan_install(text, "esc-dev", FAKE_LINE, **args)
    except ConfigError:
        return
    before, after = _parsed(text), _parsed(edit.new_text)
    target = [s for s in after if ini.profile_name_of(s) == "esc-dev"]
    assert len(target) == 1
    settings_after = after.pop(target[0])
    settings_before = before.pop(target[0], {})
    assert after == before  # every other section exactly as before
    assert settings_after.pop("credential_process") == FAKE_LINE
    for key in ("region", "output"):
        if args[key]:
            assert settings_after.pop(key) == args[key]
            settings_before.pop(key, None)
    assert settings_after == settings_before
    assert edits.plan_install(edit.new_text, "esc-dev", FAKE_LINE, **args).status == "unchanged"


@settings(max_examples=EXAMPLES, deadline=None)
@given(text=configs())
def test_line_classifier_agrees_with_botocores_parser(text):
    lines = ini.split_lines(text)
    assert "".join(lines) == text
    infos = ini.classify(lines)
    ours = {}
    for section in ini.sections_of(infos):
        ours[section.header] = {key: ini.option_value(lines, infos, opt)
                                for opt in section.options for key in [opt[0]]}
    assert ours == _parsed(text)


@pytest.mark.timeout(120)
@settings(max_examples=max(EXAMPLES // 4, 10), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=configs(), args=install_args, missing=st.booleans())
def test_through_files_install_then_uninstall_is_the_identity(text, args, missing, monkeypatch):
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "aws", "config")
        monkeypatch.setenv("AWS_CONFIG_FILE", config)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.path.join(tmp, "aws", "credentials"))
        monkeypatch.setenv("CREDPROC_CONFIG_DIR", os.path.join(tmp, "credproc"))
        if not missing:
            write_bytes(config, ini.encode(text))
        out, err = io.StringIO(), io.StringIO()
        try:
            profile.install_profile("acme/dev", check_environment=lambda ref: None, launcher=lambda: FAKE_LAUNCHER,
                                    out=out, err=err, **args)
        except ConfigError:
            assert not missing and read_bytes(config) == ini.encode(text)
            return
        assert profile.uninstall_profile("esc-dev", out=out, err=err) == 0
        if missing or not text.strip():  # nothing of the user's left: no file, as before (issue 11 §3)
            assert not os.path.exists(config) and not os.path.exists(config + ".credproc.bak")
        else:
            assert read_bytes(config) == ini.encode(text)

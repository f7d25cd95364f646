"""Golden cases for `env open --format ...`: ESC's wire JSON, fed to ESC's own rendering code (the
esc-render oracle) and to credproc's renderer (credproc.store.render) in-process.

Wire JSON is what the ESC CLI receives: ``{"properties": {NAME: VALUE}}``, each VALUE
``{"value": ..., "secret": true?, "unknown": true?, "trace": {...}}`` with objects and arrays
nested the same way. The same tree becomes a credproc Value (numbers keep their text as Number).
"""
import json
import os
import random
import subprocess
import tempfile

from credproc.lang.values import Number, Value

FORMATS = ("json", "yaml", "string", "detailed")
ORACLE = os.path.join(os.path.expanduser("~"), ".cache", "esc-render")


def load_wire(text: str):
    """Wire JSON text -> Python data with numbers kept as their source text (Number)."""
    return json.loads(text, parse_int=Number, parse_float=Number)


def wire_to_root(wire) -> "Value | None":
    """``{"properties": {...}}`` -> the root Value ESC renders (esc.NewValue(e.Properties))."""
    if wire is None:
        return None
    return Value({k: wire_to_value(v) for k, v in (wire.get("properties") or {}).items()})


def wire_to_value(node: dict) -> Value:
    inner = node.get("value")
    if isinstance(inner, list):
        inner = [wire_to_value(item) for item in inner]
    elif isinstance(inner, dict):
        inner = {k: wire_to_value(v) for k, v in inner.items()}
    trace = node.get("trace") or None
    if trace and trace.get("base") is not None:
        trace = dict(trace, base=wire_to_value(trace["base"]))
    return Value(inner, secret=bool(node.get("secret")), unknown=bool(node.get("unknown")), trace=trace)


def credproc_output(case: dict, fmt: str) -> str:
    from credproc.store.render import render

    root = wire_to_root(load_wire(case["wire"]))
    return render(root, fmt, redact=not case.get("show_secrets", True), path=case.get("path") or [])


def oracle_output(case: dict, fmt: str, oracle: str = ORACLE) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as handle:
        handle.write(case["wire"])
    try:
        result = subprocess.run(
            [oracle, "-in", handle.name, "-format", fmt, "-path", json.dumps(case.get("path") or []),
             f"-show-secrets={'true' if case.get('show_secrets', True) else 'false'}"],
            capture_output=True, check=True)
    finally:
        os.unlink(handle.name)
    return result.stdout.decode("utf-8")


# --- cases -----------------------------------------------------------------------------------------

def leaf(value, secret=False, unknown=False) -> dict:
    node = {"trace": {}}
    if value is not None:
        node["value"] = value
    if secret:
        node["secret"] = True
    if unknown:
        node["unknown"] = True
    return node


def wire_of(properties: dict) -> str:
    """Wire JSON text for a root of plain values (numbers given as RawNumber keep their text)."""
    return _dumps({"properties": {k: _node(v) for k, v in properties.items()}})


#: A number written exactly as this text in the wire JSON (``1.5e+10``, ``-0``).
RawNumber = Number


def _node(value) -> dict:
    if isinstance(value, dict) and "trace" in value:
        return value
    if isinstance(value, dict):
        return leaf({k: _node(v) for k, v in value.items()})
    if isinstance(value, list):
        return leaf([_node(v) for v in value])
    return leaf(value)


def _dumps(data) -> str:
    """JSON text where RawNumber values are written bare (their exact text)."""
    marker = "\u0000RAW\u0000"

    def tag(value):
        if isinstance(value, Number):
            return marker + str(value) + marker
        if isinstance(value, dict):
            return {k: tag(v) for k, v in value.items()}
        if isinstance(value, list):
            return [tag(v) for v in value]
        return value

    text = json.dumps(tag(data), ensure_ascii=True, sort_keys=True)
    return text.replace('"\\u0000RAW\\u0000', "").replace('\\u0000RAW\\u0000"', "")


QUOTING_STRINGS = [
    "", " ", "  ", "a", "yes", "Yes", "YES", "no", "on", "Off", "y", "N", "true", "False", "TRUE", "null",
    "Null", "~", "NULL", "nil", "<<", "=", ".", "..", "...", "...x", "---", "---x", "--", "-", "- x", "-x",
    "?", "? x", "?x", ":", ": x", ":x", "a:b", "a: b", "a :b", "a:", "#", "# x", "a#b", "a #b", "a# b",
    "[", "]", "{", "}", ",", "a,b", "a[b]", "&a", "*a", "!a", "|", ">", "'", "\"", "%", "@", "`", "a'b",
    'a"b', "a\\b", "x y", " x", "x ", "x  y", "0", "1", "-1", "+1", "007", "08", "0o17", "0O17", "0o8",
    "0b101", "0B101", "0b2", "-0b1", "0b-1", "0o-7", "-0o7", "0x1F", "0X1f", "0x", "0xg", "-0x1F", "+0x1F",
    "1_000", "1__0", "_1", "1_", "0_1", "1e3", "1E3", "1e+3", "1e-3", "1.", ".5", "._5", ".5_0", "5.",
    "1.5e10", "1.5e+10", "-0", "+0", "-0.0", ".inf", ".Inf", "-.inf", "+.INF", ".nan", ".NaN", "inf",
    "-inf", "nan", "NaN", "Infinity", "1e400", "-1e400", ".1e400", "1e-400", "9223372036854775807",
    "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "18446744073709551615",
    "18446744073709551616", "0xFFFFFFFFFFFFFFFF", "0x10000000000000000", "1:30", "1:30:59", "190:20:30",
    "1:60", "-1:30.5", "+1:2_0", "12:34:56.7", "2001-12-14", "2001-12-14t21:59:43.10-05:00",
    "2001-12-14T21:59:43.10Z", "2001-12-14 21:59:43.10", "2001-12-14  21:59:43", "2001-12-14 21:59:43.1234567890",
    "2001-12-14 21:59:43.123456789", "2001-12-14T21:59:43+0500", "2001-12-14T21:59:43+-1:30",
    "2001-1-2", "2001-13-01", "2001-02-29", "2000-02-29", "1900-02-29", "2001-02-28 24:00:00",
    "2001-02-28 23:60:00", "2001-02-28 23:59:60", "2001-02-28 23:59:59,5", "2001-02-28 1:2:3",
    "20011-02-28", "2001-02-28x", "2001-02", "2001-", "12001-01-01", "\ufeffBOM", "a\ufeffb",
    "😀", "a😀b", "é", "中文", "\u00a0", "a\u00a0b", "\u0085", "a\u0085b", "\u2028", "a\u2028b", "a\u2029 b",
    "a \u2028b", "\t", "\ta", "a\tb", "a\t", "\x00", "a\x01b", "\x7f", "\x1b[0m", "\r", "a\rb", "\r\n",
    "\ufffd", "\ufffe", "\uffff", "\ue000", "\ud7ff", "\U0010ffff", "<b>&amp;</b>", "\u2028\u2029",
]

MULTILINE_STRINGS = [
    "a\nb", "a\nb\n", "a\nb\n\n", "a\nb\n\n\n", "\n", "\n\n", "\na", " a\nb", "a\n b", "a \nb", "a\nb ",
    "\ta\nb", "a\n\tb", "a\n\n\nb", "- a\n- b", "key: v\nk2: v2", "#x\n#y", "a\r\nb", "a\nb\u2028c",
    "a\n\u2028", "😀\nx", "'q'\n\"dq\"", "\ufeffa\nb", "a\n ", "  \n  ", "x\n\x00", "end\n",
    "[default]\nregion = eu-west-1\n", "-----BEGIN KEY-----\nAAAA\n-----END KEY-----\n",
]

KEYS = ["", "a", "b", "A", "Z", "_x", "-x", "1", "9", "10", "01", "001", "a1", "a2", "a10", "a01", "a001",
        "a1b", "a1_", "ab", "aB", "Ab", "z", "é", "ä", "中", "😀", "key with space", " lead", "trail ",
        "yes", "null", "~", "1e3", "0x1F", "true", "a:b", "a: b", "#c", "- x", "x\ny", "x\ty", "@at",
        "k" * 128, "k" * 129, "é" * 64, "é" * 65, "2001-12-14", "1_0", "1.5", "a.b", "[x]",
        "٣", "a٣", "a٢0", "a10٣", "Ⅷ", "²", "a²", "७x"]


def edge_cases() -> list:
    """Named hand-picked cases: each value, key or structure that has its own rule."""
    cases = []

    def add(name, properties=None, wire=None, **extra):
        cases.append(dict(name=name, wire=wire if wire is not None else wire_of(properties), **extra))

    add("numbers", {"int": RawNumber("3"), "neg": RawNumber("-7"), "float": RawNumber("1.5"),
                    "exp": RawNumber("1.5e+10"), "exp_upper": RawNumber("2E-3"), "negzero": RawNumber("-0"),
                    "big": RawNumber("123456789012345678901234567890"), "huge": RawNumber("1e400"),
                    "tiny": RawNumber("1e-400"), "trailing_zeros": RawNumber("1.50"),
                    "list": [RawNumber("1"), RawNumber("2.0"), RawNumber("-3e2")]})
    add("scalars", {"t": True, "f": False, "n": None, "s": "text", "empty": ""})
    add("quoting", {f"s{i:03d}": s for i, s in enumerate(QUOTING_STRINGS)})
    add("quoting_in_lists", {"l": list(QUOTING_STRINGS)})
    add("multiline", {f"m{i:02d}": s for i, s in enumerate(MULTILINE_STRINGS)})
    add("multiline_in_lists", {"l": list(MULTILINE_STRINGS), "nested": [[s] for s in MULTILINE_STRINGS[:6]]})
    add("key_order", {k: i for i, k in enumerate(KEYS)} | {"count": RawNumber("3")})
    add("key_order_natural", {k: RawNumber("1") for k in
                               ["a10", "a2", "a1", "_x", "10", "9", "1", "b", "a", "A", "B", "x01", "x1",
                                "x001", "x0", "x00", "1a", "1b", "a1b2", "a1b10", "v1.10", "v1.9", "v1.2.3"]})
    add("keys_as_keys", {"m": {k: k for k in KEYS}})
    add("structures", {"empty_map": {}, "empty_list": [], "list_of_maps": [{"k": "v", "k2": "v2"}, {}],
                       "list_of_lists": [[1, 2], [], [[3]]], "map_of_lists": {"a": [1], "b": []},
                       "deep": {"a": {"b": {"c": {"d": [{"e": ["f", {"g": "h"}]}]}}}},
                       "list_of_multiline": ["a\nb", {"k": "x\ny\n"}],
                       "complex_keys": {"k" * 130: {"x": 1}, "line\nbreak": [1, 2], "x" * 129: "v"}})
    add("scalar_root_string", {"s": "hello"}, path=["s"])
    add("scalar_root_number", {"s": RawNumber("42")}, path=["s"])
    add("scalar_root_multiline", {"s": "a\nb\n"}, path=["s"])
    add("scalar_root_leading_newline", {"s": "\nindented"}, path=["s"])
    add("scalar_root_null", {"s": None}, path=["s"])
    add("scalar_root_bool", {"s": True}, path=["s"])
    add("list_root", {"l": [{"a": 1}, [1, [2]], "x", {}]}, path=["l"])
    add("missing_path", {"a": 1}, path=["nope", 3])
    add("index_path", {"a": [RawNumber("1"), {"b": "<&>"}]}, path=["a", 1])
    add("empty_environment", {})
    add("html_and_separators", {"html": "<script>&amp;</script>", "ls": "a\u2028b\u2029c", "k<>": "&"})
    add("secrets_shown", wire=_dumps({"properties": {
        "pw": leaf("hunter2", secret=True), "n": leaf(Number("5"), secret=True),
        "obj": leaf({"a": leaf("x", secret=True), "b": leaf("y")}, secret=True),
        "later": leaf(None, unknown=True), "later_secret": leaf(None, secret=True, unknown=True)}}))
    add("unknowns", wire=_dumps({"properties": {
        "u": leaf(None, unknown=True), "u_list": leaf([leaf(None, unknown=True), leaf("k")]),
        "u_map": leaf({"x": leaf(None, unknown=True)}), "null": leaf(None), "f": leaf(False),
        "empty": leaf(""), "zero": leaf(Number("0")), "el": leaf([]), "em": leaf({})}}))
    add("traces", wire=_dumps({"properties": {
        "a": {"value": "x", "trace": {"def": {"environment": "org/env", "begin": {"line": 2, "column": 6, "byte": 12},
                                               "end": {"line": 2, "column": 9, "byte": 15}}}},
        "b": {"value": Number("1"), "trace": {"def": {"begin": {"line": 3, "column": 1, "byte": 20},
                                                        "end": {"line": 3, "column": 2, "byte": 21}},
                                                "base": {"value": "old", "trace": {"def": {"environment": "base",
                                                          "begin": {"line": 1, "column": 1, "byte": 0},
                                                          "end": {"line": 1, "column": 4, "byte": 3}}}}}}}}))
    add("null_environment", wire="null")
    add("cli_definition", wire=cli_definition_wire())
    add("cli_definition_redacted", wire=cli_definition_wire(), show_secrets=False, formats=["json", "yaml", "string"])
    return cases


def cli_definition_wire() -> str:
    """What ESC evaluates tests/env/render_golden/cli-definition.yaml to (written by hand; the CLI
    test checks credproc's own `--format json --show-secrets` agrees before comparing the others)."""
    n = RawNumber
    return _dumps({"properties": {k: _node(v) for k, v in {
        "count": n("3"), "big": n("10"), "ratio": n("1.5"), "answer": "42", "a10": "ten", "a2": "two",
        "_x": "underscore", "1": "one", "9": "nine", "10": "ten", "": "empty key",
        "flags": ["yes", "yes", "no", "~", "0x1F", "1e3", "2001-12-14", ": x", "# x", " lead", "trail ",
                  "\U0001F600", ""],
        "servers": [{"name": "web", "port": n("80")}, ["nested", "list"]],
        "motd": "Welcome\nto credproc\n", "tabbed": "\tindented\nsecond", "password": leaf("hunter2", secret=True),
        "empty": {}, "none": [], "nothing": None, "on": True,
        "environmentVariables": {"COUNT": n("3")}}.items()}})


def redacted_variants(cases: list) -> list:
    """The same cases rendered without --show-secrets (json, yaml and string redact as ESC does)."""
    return [dict(case, name=case["name"] + "_redacted", show_secrets=False, formats=["json", "yaml", "string"])
            for case in cases if "secret" in case["wire"]]


# --- a seeded random set --------------------------------------------------------------------------

_ALPHABET = ("abcxyzABZ019_-.:#,[]{}&*!|>'\"%@`?~ \t\n\r\\/=<+$^()" + "é中😀\u00a0\u0085\u2028\u2029\ufeff\x00\x1b\x7f\ufffd")
_WORDS = QUOTING_STRINGS + MULTILINE_STRINGS[:12] + ["x", "key", "value", "a b", "1.0", "2"]


def random_string(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.35:
        return rng.choice(_WORDS)
    if pick < 0.45:
        return rng.choice(_WORDS) + rng.choice(" \n:#-") + rng.choice(_WORDS)
    if pick < 0.5:
        return rng.choice("ab ") * rng.randint(60, 200)
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 12)))


def random_number(rng: random.Random) -> RawNumber:
    return RawNumber(rng.choice([
        str(rng.randint(-10**6, 10**6)), str(rng.randint(0, 10**25)), repr(rng.uniform(-1e6, 1e6)),
        f"{rng.uniform(0, 10):.3f}", f"{rng.randint(1, 9)}e{rng.randint(-400, 400)}",
        f"{rng.randint(1, 9)}.{rng.randint(0, 99)}E+{rng.randint(0, 30)}", "-0", "0", "0.0"]))


def random_key(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(KEYS)
    return random_string(rng)[:20] if rng.random() < 0.5 else rng.choice("abx_1") + str(rng.randint(0, 120))


def random_node(rng: random.Random, depth: int, max_depth: int = 4) -> dict:
    secret = rng.random() < 0.1
    unknown = rng.random() < 0.04
    kind = rng.random() if depth < max_depth else rng.random() * 0.7
    if unknown:
        return leaf(None, secret=secret, unknown=True)
    if kind < 0.35:
        return leaf(random_string(rng), secret=secret)
    if kind < 0.45:
        return leaf(random_number(rng), secret=secret)
    if kind < 0.55:
        return leaf(rng.choice([True, False, None]), secret=secret)
    if kind < 0.7:
        return leaf([random_node(rng, depth + 1, max_depth) for _ in range(rng.randint(0, 4))], secret=secret)
    keys = {random_key(rng) for _ in range(rng.randint(0, 6))}
    return leaf({k: random_node(rng, depth + 1, max_depth) for k in keys}, secret=secret)


def random_cases(count: int, seed: int, max_depth: int = 4) -> list:
    """Random environments (nested maps and lists of strings, numbers, booleans, nulls; some
    secret or unknown); about one in five rendered without --show-secrets."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        keys = {random_key(rng) for _ in range(rng.randint(1, 8))}
        wire = _dumps({"properties": {k: random_node(rng, 0, max_depth) for k in keys}})
        case = dict(name=f"random_{seed}_{i:04d}", wire=wire, show_secrets=rng.random() < 0.8)
        if not case["show_secrets"]:
            case["formats"] = ["json", "yaml", "string"]  # detailed: credproc redacts, ESC does not
        cases.append(case)
    return cases


def formats_of(case: dict) -> list:
    return case.get("formats") or list(FORMATS)


def esc_order_is_fixed(case: dict) -> bool:
    """Whether ESC prints this case's YAML in one order only. yaml.v3's key comparison is not
    transitive for some keys (a run of digits past int64 wraps around, e.g. `, 1e3 and
    18446744073709551615 compare in a cycle); Go's map order is random, so ESC's order then
    changes from run to run and no fixed golden can exist."""
    from credproc.store import yamlout

    def fixed(node) -> bool:
        inner = node.get("value") if isinstance(node, dict) else None
        if isinstance(inner, list):
            return all(fixed(item) for item in inner)
        if isinstance(inner, dict):
            keys = yamlout.sorted_keys(inner)
            runes = [yamlout._runes(k) for k in keys]
            ordered = all(yamlout._key_less(runes[i], runes[j]) and not yamlout._key_less(runes[j], runes[i])
                          for i in range(len(runes)) for j in range(i + 1, len(runes)))
            return ordered and all(fixed(v) for v in inner.values())
        return True

    wire = load_wire(case["wire"])
    return wire is None or fixed({"value": wire.get("properties") or {}})


_NUMERIC_ALPHABET = "0123456789+-._eExXbBoO:TtZ ,"


def numeric_string(rng: random.Random) -> str:
    """Strings close to what yaml.v3's resolver reads as a number, a timestamp or a base-60 float."""
    pick = rng.random()
    if pick < 0.4:
        return "".join(rng.choice(_NUMERIC_ALPHABET) for _ in range(rng.randint(1, 10)))
    if pick < 0.8:
        year = rng.choice(["2001", "2000", "1900", "0000", "9999", "200", "20011"])
        text = f"{year}-{rng.randint(0, 13)}-{rng.randint(0, 32)}"
        if rng.random() < 0.7:
            sep = rng.choice(["T", "t", " ", "  ", "x", ""])
            text += f"{sep}{rng.randint(0, 25)}:{rng.randint(0, 61)}:{rng.randint(0, 61)}"
            if rng.random() < 0.5:
                text += rng.choice([".", ","]) + "1234567890123"[:rng.randint(0, 12)]
            if rng.random() < 0.6:
                text += rng.choice(["Z", "+05:00", "-0500", "+5:00", "+-1:30", "+05:0x", "z", ""])
        return text.replace("-1-", "-01-") if rng.random() < 0.3 else text
    return rng.choice(["", "-", "+", "0", "0x", "0b", "0o"]) + "".join(
        rng.choice("0123456789_abcdefABCDEF") for _ in range(rng.randint(1, 20)))


def resolver_cases(count: int, seed: int) -> list:
    """Lists of numeric-looking strings as values (the key order of maps of them is left to random_cases)."""
    rng = random.Random(seed)
    return [dict(name=f"resolver_{seed}_{i:04d}", wire=wire_of({"l": [numeric_string(rng) for _ in range(200)]}),
                 formats=["yaml"]) for i in range(count)]

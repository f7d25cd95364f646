"""`credproc env get ORG/ENV [PATH]` without --value: ESC's markdown report (cmd/esc/cli/env_get.go,
env-get.tmpl): `# Value` (the value as indented JSON), `# Definition` (the definition as YAML) and,
for a PATH, `# Defined at` (where the value is defined).

ESC prints the definition re-encoded by yaml.v3 (2-space indentation, comments kept as head, line
and foot comments). credproc keeps the definition's own text and applies the changes that
re-encoding makes to a definition written in that style (2-space indentation, block mappings):
the document's head comment (the comment block ended by a blank line before the first key) and
foot comment (the comments after the last blank line at the end) are dropped, blank lines are
dropped, a line comment is set one space after its value. A definition in another style prints
as it is written (the one deliberate difference).
"""
import re

def render_report(value_json: str, definition: str, stack: "list | None" = None) -> str:
    """env-get.tmpl, byte for byte."""
    out = ""
    if value_json:
        out += f"# Value\n```json\n{value_json}\n```\n"
    if definition:
        out += f"# Definition\n```yaml\n{definition}\n```\n"
    if stack:
        out += "\n# Defined at\n" + "".join(f"- {entry}\n" for entry in stack)
    return out + "\n"  # the template file's own last newline


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _is_blank(line: str) -> bool:
    return not line.strip()


def _content_bounds(lines: list) -> "tuple[int, int] | None":
    content = [i for i, line in enumerate(lines) if not _is_blank(line) and not _is_comment(line)]
    return (content[0], content[-1]) if content else None


def _head_comments(lines: list, first: int) -> list:
    head = lines[:first]
    blanks = [i for i, line in enumerate(head) if _is_blank(line)]
    return head[blanks[-1] + 1:] if blanks else head


def _foot_comments(lines: list, last: int) -> list:
    foot = lines[last + 1:]
    blanks = [i for i, line in enumerate(foot) if _is_blank(line)]
    return foot[:blanks[0]] if blanks else foot


_LINE_COMMENT = re.compile(r"^([^'\"#]*?\S)[ \t]{2,}(#.*)$")


def _line(line: str) -> str:
    line = line.rstrip()
    if _is_comment(line):
        return line
    return _LINE_COMMENT.sub(r"\1 \2", line)


def definition_yaml(text: str) -> "str | None":
    """The definition as ESC's report shows it; None for a document without content (ESC then
    shows the raw text and no value)."""
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        lines = lines[1:]
    bounds = _content_bounds(lines)
    if bounds is None:
        return None
    first, last = bounds
    kept = _head_comments(lines, first) + lines[first:last + 1] + _foot_comments(lines, last)
    return "".join(_line(line) + "\n" for line in kept if not _is_blank(line))


def member_definition(text: str, node) -> str:
    """The definition of one node inside `values`: a one-line node's own text; a block's lines
    (those indented at least as far as its first line), re-indented to column 1."""
    lines = text.splitlines()
    indent = node.column - 1
    if node.line == node.end_line and node.end_column > node.column:
        return lines[node.line - 1][indent:node.end_column - 1] + "\n"
    block = [lines[node.line - 1][indent:]]
    for line in lines[node.line:]:
        if not _is_blank(line) and len(line) - len(line.lstrip()) < indent:
            break
        block.append(line[indent:])
    while block and (_is_blank(block[-1]) or _is_comment(block[-1])):
        block.pop()
    return "".join(_line(line) + "\n" for line in block if not _is_blank(line))


def redact_secrets(text: str, root) -> str:
    """The definition with the plaintext of every `fn::secret` replaced by "[secret]" (ESC's
    service hands out such definitions with the secret encrypted; a local store holds it in
    plaintext, which `env get` must not print without --show-secrets)."""
    spans = sorted(_secret_spans(root), reverse=True)
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    for line, column, end_line, end_column in spans:
        begin = starts[line - 1] + column - 1
        end = starts[end_line - 1] + end_column - 1 if end_line - 1 < len(starts) else len(text)
        removed = text[begin:end]
        text = text[:begin] + '"[secret]"' + ("\n" if removed.endswith("\n") else "") + text[end:]
    return text


def _secret_spans(node):
    from credproc.lang.syntax import MappingNode, ScalarNode, SequenceNode

    if isinstance(node, SequenceNode):
        for item in node.items:
            yield from _secret_spans(item)
    elif isinstance(node, MappingNode):
        for key, value in node.entries:
            if key.value == "fn::secret" and isinstance(value, ScalarNode):
                yield value.line, value.column, value.end_line, value.end_column
            else:
                yield from _secret_spans(value)

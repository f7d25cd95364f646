"""Render the bad-input catalogue as the markdown table in docs/reliability.md, between the markers."""
BEGIN = "<!-- badinput:begin (generated from tests/badinput/catalogue.py; CREDPROC_ACCEPT=1 to refresh) -->"
END = "<!-- badinput:end -->"


def _cell(text: str) -> str:
    text = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    if len(text) > 160:
        text = text[:157] + "..."
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    text = _cell(text)
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def table(cases) -> str:
    rows = ["| # | entry point | input | command | exit | first stderr line (match) |", "|---|---|---|---|---|---|"]
    for n, c in enumerate(cases, 1):
        args = " ".join(a if len(a) <= 40 else a[:37] + "..." for a in c["args"])
        rows.append(f"| {n} | {c['entry']} | {_cell(c['what'])} (`{c['id']}`) | {_code('credproc ' + args)} | "
                    f"{c['code']} | {_code(c['line'])} ({c['match']}) |")
    return "\n".join(rows)


def render(document: str, cases) -> str:
    block = f"{BEGIN}\n{table(cases)}\n{END}"
    if BEGIN in document and END in document:
        head = document.split(BEGIN, 1)[0]
        tail = document.split(END, 1)[1]
        return head + block + tail
    return document + ("\n" if document and not document.endswith("\n") else "") + block + "\n"

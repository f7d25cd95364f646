"""Write the `env open --format ...` goldens from ESC's own rendering code, or fuzz credproc against it.

    python -m tests.support.esc_render_goldens write [--oracle PATH]
        regenerates tests/env/render_golden/{edge,fuzz}.jsonl: each line one case, its wire JSON
        and the bytes ESC v0.25's rendering code prints for each format (the esc-render oracle,
        default ~/.cache/esc-render; see ../shared/tools/esc-render/README.md to build it).
    python -m tests.support.esc_render_goldens fuzz [--count N] [--seed S] [--oracle PATH]
        renders N fresh random cases (and N/10 resolver cases) with the oracle and with credproc
        and reports every difference; exit status 1 when there is one.

Run from the repository root with the project's interpreter (.venv/bin/python). The tests
(tests/env/test_env_render_golden.py) compare with the checked-in files only: no Go needed.
"""
import argparse
import json
import sys
from pathlib import Path

from tests.support import escrender

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "env" / "render_golden"
FUZZ_SEED = 2026


def golden_sets() -> dict:
    """file name -> cases. The random set is kept small (depth 2): string and detailed, whose
    size grows fast with depth, are kept for one case in ten."""
    random_cases = escrender.random_cases(200, FUZZ_SEED, max_depth=2)
    for i, case in enumerate(random_cases):
        if i % 10:
            case["formats"] = ["json", "yaml"]
    edge = escrender.edge_cases()
    return {"edge.jsonl": edge + escrender.redacted_variants(edge),
            "fuzz.jsonl": random_cases + escrender.resolver_cases(10, FUZZ_SEED)}


def with_outputs(case: dict, oracle: str) -> dict:
    outputs = {fmt: escrender.oracle_output(case, fmt, oracle) for fmt in escrender.formats_of(case)}
    return dict(case, outputs=outputs)


def write(oracle: str) -> None:
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name, cases in golden_sets().items():
        fixed = [case for case in cases if escrender.esc_order_is_fixed(case)]
        lines = [json.dumps(with_outputs(case, oracle), ensure_ascii=True, sort_keys=True) for case in fixed]
        (GOLDEN_DIR / name).write_text("\n".join(lines) + "\n", encoding="ascii")
        print(f"{name}: {len(fixed)} cases ({len(cases) - len(fixed)} left out: ESC's key order is random there)")


def fuzz(count: int, seed: int, oracle: str) -> int:
    cases = escrender.random_cases(count, seed) + escrender.resolver_cases(max(1, count // 10), seed)
    differences = compared = 0
    for case in cases:
        if not escrender.esc_order_is_fixed(case):
            continue
        for fmt in escrender.formats_of(case):
            compared += 1
            want, got = escrender.oracle_output(case, fmt, oracle), escrender.credproc_output(case, fmt)
            if want != got:
                differences += 1
                print(f"DIFF {case['name']} {fmt}\n  wire: {case['wire']}\n  esc:      {want!r}\n  credproc: {got!r}")
    print(f"{compared} renderings compared, {differences} differ")
    return 1 if differences else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("write", "fuzz"))
    parser.add_argument("--oracle", default=escrender.ORACLE)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "write":
        write(args.oracle)
        return 0
    return fuzz(args.count, args.seed, args.oracle)


if __name__ == "__main__":
    sys.exit(main())

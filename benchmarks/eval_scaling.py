#!/usr/bin/env python3
"""Does evaluation scale linearly? Evaluates generated environments of 1,000 and 10,000 values
(with imports, merging, references and interpolation), prints the time ratio (goal: <= 12x),
and the time of the conformance corpus `bench` case (26 imports with ciphertext) when the corpus
is present at ../shared/conformance/esc-eval.

    .venv/bin/python benchmarks/eval_scaling.py [--repeat 3] [--sizes 1000,10000]

Exit status 1 when the ratio goal is missed (so CI can run it as a check).
"""
import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from credproc.lang import EnvironmentNotFound, evaluate, load  # noqa: E402

IMPORTS = 10  # imported environments; each holds a share of the values


def generate(total: int) -> dict:
    """Environment sources for `total` values: IMPORTS imported environments and a root.

    Each imported environment i defines groups of 10 values: numbers, strings, a nested object,
    a reference to a sibling and an interpolation. The root imports all of them, overrides part
    of every group (deep merge), and adds its own references into the imports and to itself.
    """
    per_env = total // (2 * IMPORTS)
    groups = max(1, per_env // 10)
    sources = {}
    for i in range(IMPORTS):
        lines = ["values:"]
        for g in range(groups):
            lines += [
                f"  g{g}:",
                f"    n: {g}",
                f"    f: {g}.5",
                f"    s: text-{i}-{g}",
                f"    obj: {{a: {g}, b: [x, y], c: {{d: e{i}}}}}",
                f"    ref: ${{g{g}.s}}",
                f"    interp: \"${{g{g}.s}}/${{g{g}.n}} and ${{g{g}.obj.c.d}}\"",
                f"    env{i}: own-{g}",
            ]
        sources[f"imp{i}"] = "\n".join(lines) + "\n"
    lines = ["imports:"] + [f"  - imp{i}" for i in range(IMPORTS)] + ["values:"]
    for r in range(max(1, total // 2 // 10)):
        g = r % groups  # the imported group this root group overrides or refers to
        name = f"g{g}" if r < groups else f"r{r}"
        lines += [
            f"  {name}:",
            f"    s: root-{r}",
            f"    obj: {{b: [z], extra: {r}}}",
            f"    mine: ${{g{g}.interp}}",
            f"    joined: {{fn::join: [\"-\", [\"${{g{g}.s}}\", \"${{g{g}.ref}}\"]]}}",
            f"    json: {{fn::toJSON: \"${{g{g}.obj}}\"}}",
            f"    chain: \"${{g{max(g - 1, 0)}.mine}}+${{imports.imp0.g{g}.s}}\"",
        ]
    sources["root"] = "\n".join(lines) + "\n"
    return sources


def evaluate_sources(sources: dict):
    encoded = {k: v.encode() for k, v in sources.items()}

    def loader(name):
        if name not in encoded:
            raise EnvironmentNotFound(f'environment "{name}" not found')
        return encoded[name]

    decl, load_diags = load("root", encoded["root"])
    value, diags = evaluate("root", decl, loader=loader, providers={}, rotators={})
    errors = [d.format() for d in load_diags + diags if d.severity == "error"]
    if errors:
        raise SystemExit("generated environment has errors:\n" + "\n".join(errors[:10]))
    return value


def count_values(sources: dict) -> int:
    """Scalars written in the definitions (under `values`): the size of the input."""
    from credproc.lang.syntax import MappingNode, SequenceNode, parse_yaml

    total = 0
    for text in sources.values():
        root, _ = parse_yaml("count", text.encode())
        stack = [v for k, v in root.entries if k.value == "values"]
        while stack:
            node = stack.pop()
            if isinstance(node, MappingNode):
                stack.extend(v for _, v in node.entries)
            elif isinstance(node, SequenceNode):
                stack.extend(node.items)
            else:
                total += 1
    return total


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def bench_case(repeat: int):
    corpus = REPO.parent / "shared" / "conformance" / "esc-eval" / "bench"
    if not corpus.is_dir():
        return None
    from credproc.providers import conformance

    def loader(name):
        path = corpus / f"{name}.yaml"
        if not path.is_file():
            raise EnvironmentNotFound(f'environment "{name}" not found')
        return path.read_bytes()

    def run():
        decl, load_diags = load("bench", (corpus / "env.yaml").read_bytes())
        value, diags = evaluate("bench", decl, loader=loader, providers={"bench": conformance.BenchProvider()},
                                rotators={}, context=conformance.CONFORMANCE_CONTEXT,
                                decrypter=conformance.conformance_decrypter)
        if load_diags or diags:
            raise SystemExit(f"bench case has diagnostics: {[d.format() for d in load_diags + diags]}")

    return best_time(run, repeat)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5,
                        help="best of N runs (the smallest size runs 3N times: it is the noisiest)")
    parser.add_argument("--sizes", default="1000,10000")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    sources = {size: generate(size) for size in sizes}
    for size in sizes:
        evaluate_sources(sources[size])  # warm-up, and stops on errors
    # Interleave the sizes so that background load hits them alike; keep each size's best run.
    times = {size: float("inf") for size in sizes}
    runs = {size: 0 for size in sizes}
    for _ in range(args.repeat):
        for size in sizes:
            repeat = 3 if size == min(sizes) else 1  # the smallest size is the noisiest
            times[size] = min(times[size], best_time(lambda: evaluate_sources(sources[size]), repeat))
            runs[size] += repeat
    for size in sizes:
        print(f"{size:>7} target values: {count_values(sources[size]):>7} values written, "
              f"{times[size] * 1000:8.1f} ms (CPU time, best of {runs[size]})")
    ok = True
    if len(sizes) >= 2:
        ratio = times[sizes[-1]] / times[sizes[0]]
        scale = sizes[-1] / sizes[0]
        goal = 1.2 * scale
        ok = ratio <= goal
        print(f"ratio {sizes[-1]}/{sizes[0]}: {ratio:.2f}x (goal <= {goal:.0f}x): {'ok' if ok else 'MISSED'}")
    bench = bench_case(args.repeat)
    if bench is None:
        print("corpus bench case: not found (../shared/conformance/esc-eval/bench)")
    else:
        print(f"corpus bench case: {bench * 1000:.1f} ms (CPU time, best of {args.repeat})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

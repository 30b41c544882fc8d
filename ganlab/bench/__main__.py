"""``python -m ganlab.bench {train,metrics,seeds,cache} [options]``: measured throughput, one JSON line."""

from __future__ import annotations

import argparse
import importlib
import json
import sys

COMMANDS = {"train": "ganlab.bench.train_bench", "metrics": "ganlab.bench.metrics_bench",
            "seeds": "ganlab.bench.seeds_bench", "cache": "ganlab.bench.cache_bench"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganlab.bench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, module in COMMANDS.items():
        mod = importlib.import_module(module)
        modules[name] = mod
        mod.add_arguments(sub.add_parser(name, help=(mod.__doc__ or "").splitlines()[0]))
    args = parser.parse_args(argv)
    print(json.dumps(modules[args.command].run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

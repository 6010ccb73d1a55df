"""`make bench`: run every benchmark in bench/ (or those named), each printing its ratios;
run whole, bench/speed.py comes last and prints issue 18's table from what the others
measured (bench/clone.py and bench/site.py are not run twice)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench

LAST = "speed"  # the table of the others' figures


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__)
                           if not m.name.startswith("_") and m.name != LAST) + [LAST]
    failed = 0
    measured: dict[str, object] = {}
    for name in names:
        print(f"== bench/{name}.py", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"bench.{name}")
            if name == LAST:
                module.main(measured)
            else:
                measured[name] = module.main()
        except Exception as exc:  # a broken bench must not hide the others
            failed += 1
            print(f"bench/{name}.py failed: {exc!r}", flush=True)
        print(f"== bench/{name}.py done in {time.perf_counter() - started:.1f}s\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make bench`: run every benchmark in bench/ (or those named), each printing its ratios."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = argv or sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if not m.name.startswith("_"))
    failed = 0
    for name in names:
        print(f"== bench/{name}.py", flush=True)
        started = time.perf_counter()
        try:
            importlib.import_module(f"bench.{name}").main()
        except Exception as exc:  # a broken bench must not hide the others
            failed += 1
            print(f"bench/{name}.py failed: {exc!r}", flush=True)
        print(f"== bench/{name}.py done in {time.perf_counter() - started:.1f}s\n", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

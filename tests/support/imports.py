"""What a command imports: ouhub's CLI run in a fresh interpreter, its sys.modules read at exit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# each costs 25-200 ms to import: more than most commands' whole work
HEAVY = ("docutils", "breezy", "dulwich", "psycopg2", "jinja2", "rich", "requests", "celery",
         "kombu", "launchpadlib")

_PROBE = """
import sys
heavy = {heavy!r}
code = 0
argv = {argv!r}
if argv is not None:
    from ouhub.cli import main
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code
else:
    import ouhub.cli
found = {{
    "code": code,
    "heavy": sorted(name for name in sys.modules if name.split(".")[0] in heavy),
    "ouhub": sorted(name for name in sys.modules if name.startswith("ouhub.")),
    "modules": sorted(sys.modules),
}}
import json
sys.__stdout__.write("\\n@@" + json.dumps(found))
"""


def probe(argv: list[str] | None, cwd: Path | None = None) -> dict:
    """``{"code": exit code, "heavy": heavy libraries imported, "ouhub": ouhub's modules,
    "modules": every module}`` of `ouhub ARGV` (None: of `import ouhub.cli`) in a fresh
    interpreter."""
    code = _PROBE.format(heavy=HEAVY, argv=argv)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, check=True)
    return json.loads(done.stdout.rsplit("\n@@", 1)[1])

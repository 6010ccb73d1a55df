"""The layout stays one a reader can hold in their head (issue 16): no module of the
package grows past 600 lines; a file that does is doing several jobs and is split."""

from __future__ import annotations

from pathlib import Path

import ouhub

LIMIT = 600


def test_no_module_of_the_package_is_over_600_lines():
    package = Path(ouhub.__file__).parent
    sizes = {path.relative_to(package.parent).as_posix(): len(path.read_text().splitlines())
             for path in package.rglob("*.py")}
    assert len(sizes) > 50  # the whole package was read, not an empty folder
    assert {path: lines for path, lines in sizes.items() if lines > LIMIT} == {}

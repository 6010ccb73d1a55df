"""ouhub on the real OpenUpgrade trees (17.0, 18.0, 19.0 from the package index), checked
against what a maintainer counts from the files themselves (tests/support/real_trees.py).

The trees are downloaded once per machine; a failed download fails these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ouhub.coverage.analysis import parse_analysis, preference
from ouhub.coverage.status import analysis_says_nothing_to_do
from tests.support.real_trees import SCRIPTS, VERSIONS, TreeDownloadError, count_truth, real_tree

pytestmark = pytest.mark.slow  # the first run downloads three wheels


@pytest.fixture(scope="session")
def trees() -> dict[str, Path]:
    try:
        return {release: real_tree(release) for release in VERSIONS}
    except TreeDownloadError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.mark.parametrize("release", list(VERSIONS))
def test_the_analysis_says_nothing_to_do_exactly_where_the_files_do(
    trees: dict[str, Path], release: str
) -> None:
    wheel = trees[release]
    truth = count_truth(wheel, release)
    said = set()
    for module in sorted(truth.modules - truth.with_scripts):
        folders = sorted(
            (p for p in (wheel / SCRIPTS / module).iterdir() if p.name.startswith(release)),
            key=lambda p: [int(x) for x in p.name.split(".")],
        )
        files = [p for p in folders[-1].iterdir() if preference(p.name) >= 0]
        if not files:
            continue
        best = max(files, key=lambda p: (preference(p.name), p.name))
        source = str(best.relative_to(wheel))
        analysis = parse_analysis(best.read_bytes(), source, module=module).modules.get(module)
        if analysis is not None and analysis_says_nothing_to_do(source, analysis):
            said.add(module)
    assert said == truth.nothing_to_do
    assert truth.nothing_to_do  # the trees hold such modules: the check is not empty


def test_a_failed_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a package index that refuses connections (a closed loopback port): no registry asked
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_RETRIES", "0")
    with pytest.raises(TreeDownloadError) as failed:
        real_tree("19.0", cache=tmp_path)
    message = str(failed.value)
    assert "cannot download the real 19.0 tree (odoo-addon-openupgrade-scripts==19.0" in message
    assert "need the package index" in message
    assert not any(tmp_path.glob("odoo-addon-*"))

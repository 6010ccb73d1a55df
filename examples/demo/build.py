"""Generate the demo: an OpenUpgrade-like project of real local bzr branches, offline.

Releases 6.1 and 7.0, each with a server branch (base under openerp/addons/) and
an addons branch (modules at the root) that copy an "upstream OpenERP" branch and
add migration scripts, analysis files and the declared coverage table. Upstream
then moves on by a few revisions that are not merged yet. A 6.1 sample database
is made with sampledb.py and dumped with pg_dump.

Every status of the 6.1 -> 7.0 step occurs at least once, and one module's
post-migration script fails against the sample database, so the nightly run
shows a real, attributed failure. ``second_night`` then fixes that script and
breaks another module's, for a second night with a fix and a regression.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from breezy import controldir

from examples.demo.vcs import commit_files, init_branch
from ouhub import pgcluster

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_OUT = HERE / "build"
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

UPSTREAM_AUTHOR = "OpenERP SA <info@openerp.com>"
OU_AUTHOR = "OpenUpgrade Contributor <openupgrade@example.org>"
T0 = 1_356_998_400.0  # 2013-01-01


@dataclass(frozen=True)
class DemoModule:
    """A module of the demo and what OpenUpgrade 7.0 says and holds for it."""

    name: str
    v61: str | None  # manifest version in 6.1, None when absent
    v70: str | None  # manifest version in 7.0, None when absent
    depends: tuple[str, ...] = ("base",)
    declared: str = ""  # Status column of modules61-70.rst ("" = not declared)
    extra: str = ""
    scripts: tuple[str, ...] = ()  # pre / post / end scripts for 7.0
    analysis: int = 0  # how many analysis lines 6.1 -> 7.0
    annotated: int = 0  # how many of them carry a contributor's note in the _work file
    fails: bool = False  # its post-migration fails against the sample database
    server: bool = False  # lives in the server branch


MODULES: tuple[DemoModule, ...] = (
    DemoModule("base", "1.3", "1.3", (), "Done", scripts=("pre", "post"), analysis=40,
               annotated=40, server=True),
    DemoModule("account", "1.1", "1.1", ("base", "product", "analytic"), "Done",
               scripts=("pre", "post"), analysis=35, annotated=35),
    DemoModule("analytic", "1.1", "1.1", ("base",), "Done", scripts=("post",), analysis=6,
               annotated=6),
    DemoModule("product", "1.1", "1.1", ("base",), "Done", scripts=("pre", "post"),
               analysis=18, annotated=18),
    DemoModule("sale", "1.0", "1.0", ("account", "product"), "Done",
               scripts=("pre", "post", "end"), analysis=22, annotated=22),
    DemoModule("purchase", "1.1", "1.1", ("account", "stock"), "Done", scripts=("post",),
               analysis=15, annotated=15),
    DemoModule("stock", "1.1", "1.1", ("product", "account"), "Done", scripts=("pre", "post"),
               analysis=30, annotated=30),
    DemoModule("crm", "1.0", "1.0", ("base",), "Done", scripts=("post",), analysis=12,
               annotated=12),
    DemoModule("hr", "1.1", "1.1", ("base",), "Done", scripts=("post",), analysis=9,
               annotated=9),
    DemoModule("project", "1.1", "1.1", ("base", "analytic"), "Done", scripts=("post",),
               analysis=14, annotated=14, fails=True),
    DemoModule("board", "1.0", "1.0", ("base",), "Nothing to do", "No DB layout changes."),
    DemoModule("lunch", "0.2", "0.2", ("base",), "Nothing to do"),
    DemoModule("process", "1.0", "1.0", ("base",), "No change"),
    DemoModule("mrp", "1.1", "1.1", ("product", "stock"), "Partial",
               "Bills of materials migrated; routings to do", scripts=("post",), analysis=25,
               annotated=11),
    DemoModule("hr_expense", "1.0", "1.0", ("hr", "account"), analysis=17),
    DemoModule("hr_holidays", "1.5", "1.5", ("hr",), analysis=11),
    DemoModule("l10n_be", "1.1", "1.1", ("account",), analysis=4),
    DemoModule("hr_timesheet", "1.0", "1.0", ("hr", "analytic"), analysis=8, annotated=2),
    DemoModule("document", "2.1", "2.1", ("base",), "work in progress", analysis=10,
               annotated=4),
    DemoModule("email_template", "1.1", "1.1", ("base",), "Done [#email]_",
               analysis=3, annotated=3),  # declared Done, but no scripts: a disagreement
    DemoModule("marketing", "1.1", "1.1", ("base",), scripts=("post",)),  # scripts, undeclared
    DemoModule("sale_stock", None, "1.0", ("sale", "stock"), "|new| Done"),
    DemoModule("portal_sale", None, "0.1", ("sale",), "|new| Nothing to do"),
    DemoModule("document_page", None, "1.0.1", ("base",), "|new| Nothing to do",
               "Renamed from wiki"),
    DemoModule("wiki", "1.0", None, ("base",), "|del| Done", "Renamed to document_page"),
    DemoModule("outlook", "1.0", None, ("base",), "|del| Nothing to do",
               "Removed from OpenERP 7.0"),
    DemoModule("stock_planning", "1.0", None, ("stock",), "|del| Done",
               "Merged into stock"),
    DemoModule("knowledge", "0.1", "0.1", ("base",), "Nothing to do"),
    DemoModule("edi", "1.0", "1.0", ("base",), "Nothing to do"),
    DemoModule("sale_crm", "1.0", "1.0", ("sale", "crm"), analysis=5),
)

# The 6.1 sample database: which modules are installed.
SAMPLE_MODULES = (
    "base", "product", "analytic", "account", "stock", "sale", "purchase", "crm", "hr",
    "hr_expense", "board", "project", "mrp", "edi",
)

APRIORI_70 = '''\
""" Encode any known changes to the database here
to help the matching process
"""

renamed_modules = {
    # OpenUpgrade: wiki became document_page in 7.0
    'wiki': 'document_page',
}

merged_modules = {
    'stock_planning': 'stock',
}

renamed_models = {
    'wiki.wiki': 'document.page',
}

merged_models = {}
'''


@dataclass
class Demo:
    root: Path
    config: Path
    dsn: str
    cluster: pgcluster.ThrowawayCluster | None = None
    branches: dict[str, Path] = field(default_factory=dict)

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()


# -- file contents ------------------------------------------------------------------------------


def manifest(module: DemoModule, version: str, release: str) -> str:
    data = {
        "name": module.name.replace("_", " ").title(),
        "version": version,
        "category": "Demo",
        "author": "OpenERP SA",
        "depends": list(module.depends),
        "data": [],
        "installable": True,
        "auto_install": False,
    }
    body = json.dumps(data, indent=4).replace("true", "True").replace("false", "False")
    return (
        "# -*- coding: utf-8 -*-\n"
        "##############################################################################\n"
        f"#    OpenERP, Open Source Management Solution ({release} demo copy)\n"
        "#    License: AGPL-3\n"
        "##############################################################################\n"
        f"{body}\n"
    )


def model_file(module: DemoModule, release: str, revision: int = 0) -> str:
    model = module.name.replace("_", ".")
    return (
        "# -*- coding: utf-8 -*-\n"
        "from openerp.osv import fields, osv\n\n\n"
        f"class {module.name}_demo(osv.osv):\n"
        f"    _name = '{model}.demo'\n"
        f"    _columns = {{'name': fields.char('Name', size=64)}}  # {release} r{revision}\n"
    )


def script(module: DemoModule, stage: str) -> str:
    if module.fails and stage == "post":
        # Fails against the sample: 6.1 never had this table (as real scripts fail on data).
        body = ("    cr.execute(\"UPDATE project_task SET state = 'draft' "
                "WHERE state = 'template'\")\n")
    elif stage == "pre":
        body = ("    cr.execute(\"SELECT count(*) FROM ir_module_module WHERE name = %s\", "
                f"({module.name!r},))\n")
    elif stage == "post":
        body = "    cr.execute(\"SELECT count(*) FROM res_partner\")\n"
    else:
        body = "    cr.execute(\"SELECT 1\")\n"
    return (
        "# -*- coding: utf-8 -*-\n"
        f"# {stage}-migration of {module.name} for OpenUpgrade 7.0 (demo)\n\n\n"
        "def migrate(cr, version):\n"
        "    if not version:\n"
        "        return\n"
        f"{body}"
    )


def analysis_lines(module: DemoModule) -> list[str]:
    """7.0-format analysis lines: fields, then XML records."""
    lines = [f"---Fields in module '{module.name}'---"]
    kinds = [
        "NEW {t}", "DEL", "type is now 'text' ('char')", "is now stored",
        "selection_keys added: [draft, done]", "NEW required: required",
    ]
    count = module.analysis
    fields_count = (count * 2) // 3
    for i in range(fields_count):
        desc = kinds[i % len(kinds)].format(t="char")
        lines.append(f"{module.name} / {module.name.replace('_', '.')} / field_{i} (char) : {desc}")
    lines.append(f"---XML records in module '{module.name}'---")
    for i in range(count - fields_count):
        op = "NEW" if i % 2 == 0 else "DEL"
        lines.append(f"{op} ir.ui.view: {module.name}.view_{i}")
    return lines


def analysis_work(module: DemoModule) -> str:
    lines, notes = [], 0
    for line in analysis_lines(module):
        lines.append(line)
        if not line.startswith("---") and notes < module.annotated:
            lines.append("# DONE: handled in post-migration" if module.scripts
                         else "# NOTHING TO DO")
            notes += 1
    return "\n".join(lines) + "\n"


def declared_table(modules: tuple[DemoModule, ...]) -> str:
    rows = [("Module", "Status", "Extra Information")]
    for module in sorted(modules, key=lambda m: m.name):
        if not module.declared and module.v70 and module.v61:
            rows.append((module.name, "", ""))
            continue
        status = module.declared
        marker = ""
        for tag in ("|new| ", "|del| "):
            if status.startswith(tag):
                marker, status = tag, status[len(tag):]
        rows.append((marker + module.name, status, module.extra))
    widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]

    def rule(char: str) -> str:
        return "+" + "+".join(char * w for w in widths) + "+"

    def row(cells: tuple[str, str, str]) -> str:
        return "|" + "|".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + "|"

    out = [
        "Module coverage 6.1 -> 7.0",
        "==========================",
        "",
        ".. include:: coverage_legend.rst",
        "",
        rule("-"), row(rows[0]), rule("="),
    ]
    for cells in rows[1:]:
        out += [row(cells), rule("-")]
    out += ["", ".. [#email] The templates are migrated by the mail module's scripts.", ""]
    return "\n".join(out)


# -- branches -----------------------------------------------------------------------------------


def module_dir(module: DemoModule) -> str:
    return f"openerp/addons/{module.name}" if module.server else module.name


def upstream_files(release: str, server: bool) -> dict[str, str]:
    files: dict[str, str] = {}
    if server:
        files["openerp/__init__.py"] = f"# OpenERP server {release}\n"
        files["openerp-server"] = "#!/usr/bin/env python\n# demo: the real server starts here\n"
    for module in MODULES:
        version = module.v61 if release == "6.1" else module.v70
        if version is None or module.server != server:
            continue
        path = module_dir(module)
        files[f"{path}/__openerp__.py"] = manifest(module, version, release)
        files[f"{path}/__init__.py"] = "from . import models\n"
        files[f"{path}/models.py"] = model_file(module, release)
    return files


def openupgrade_files(server: bool) -> list[tuple[str, dict[str, str]]]:
    """OpenUpgrade 7.0's own commits on top of upstream: scripts, analysis, docs."""
    commits: list[tuple[str, dict[str, str]]] = []
    for module in MODULES:
        if module.v70 is None or module.server != server:
            continue
        files: dict[str, str] = {}
        folder = f"{module_dir(module)}/migrations/7.0.{module.v70}"
        for stage in module.scripts:
            files[f"{folder}/{stage}-migration.py"] = script(module, stage)
        if module.analysis:
            files[f"{folder}/openupgrade_analysis.txt"] = "\n".join(analysis_lines(module)) + "\n"
            if module.annotated:
                files[f"{folder}/openupgrade_analysis_work.txt"] = analysis_work(module)
        if files:
            what = "scripts" if module.scripts else "analysis"
            commits.append((f"[ADD] {module.name}: migration {what} for 7.0", files))
    if server:
        commits.append(("[ADD] declared coverage 6.1 -> 7.0 and apriori", {
            "doc/source/modules61-70.rst": declared_table(MODULES),
            "doc/source/coverage_legend.rst": ".. |new| replace:: *new*\n.. |del| replace:: *del*\n",
            "openerp/openupgrade/doc/apriori.py": APRIORI_70,
            "openerp/openupgrade/__init__.py": "# openupgrade helpers (demo)\n",
        }))
    return commits


def sprout(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    controldir.ControlDir.open(str(source)).sprout(str(dest))


def build_branches(root: Path) -> dict[str, Path]:
    """upstream/<release>/<kind> and openupgrade/<release>/<kind>, for kind server and addons."""
    branches: dict[str, Path] = {}
    when = T0
    for release in ("6.1", "7.0"):
        for kind in ("server", "addons"):
            server = kind == "server"
            upstream = root / "upstream" / release / kind
            tree = init_branch(upstream)
            when += 3600
            commit_files(tree, upstream_files(release, server),
                         f"[IMP] OpenERP {release} {kind}", UPSTREAM_AUTHOR, when)
            ours = root / "openupgrade" / release / kind
            sprout(upstream, ours)
            if release == "7.0":
                for message, files in openupgrade_files(server):
                    when += 600
                    commit_files(ours, files, message, OU_AUTHOR, when)
            # Upstream moves on: revisions OpenUpgrade has not merged yet.
            for number, name in enumerate(("sale", "stock", "base") if not server else ("base",)):
                module = next(m for m in MODULES if m.name == name)
                version = module.v70 if release == "7.0" else module.v61
                if version is None:
                    continue
                when += 86400
                commit_files(
                    tree, {f"{module_dir(module)}/models.py": model_file(module, release, number + 1)},
                    f"[FIX] {name}: upstream fix #{number + 1} in {release}", UPSTREAM_AUTHOR, when,
                )
            branches[f"upstream/{release}/{kind}"] = upstream
            branches[f"openupgrade/{release}/{kind}"] = ours
    return branches


# -- the second night ---------------------------------------------------------------------------

CONTRIBUTOR = "Jane Contributor <jane@example.org>"
PROJECT_FIXED = """\
# -*- coding: utf-8 -*-
# post-migration of project for OpenUpgrade 7.0 (demo)


def migrate(cr, version):
    if not version:
        return
    # 6.1 databases without the task table (project installed, no task ever made)
    cr.execute("SELECT 1 FROM pg_class WHERE relname = 'project_task'")
    if cr.fetchone():
        cr.execute("UPDATE project_task SET state = 'draft' WHERE state = 'template'")
"""
CRM_STAGES = """\
# -*- coding: utf-8 -*-
# post-migration of crm for OpenUpgrade 7.0 (demo)
import logging

logger = logging.getLogger("OpenUpgrade")


def migrate(cr, version):
    if not version:
        return
    cr.execute("SELECT count(*) FROM res_partner")
    # 7.0 gives every lead a stage; best effort, as some OpenUpgrade scripts do: log, go on
    cr.execute("SAVEPOINT crm_stages")
    try:
        cr.execute("UPDATE crm_lead SET stage_id = 1 WHERE stage_id IS NULL")
    except Exception:
        cr.execute("ROLLBACK TO SAVEPOINT crm_stages")
        logger.exception("crm: the leads without a stage could not get the first one")
"""


def second_night(root: Path) -> list[str]:
    """What lands on the 7.0 addons branch before the second night: project's script is
    fixed, and a change to crm's script breaks crm on the sample (a regression whose suspect
    commit is that change). Returns the commit messages."""
    tree = root / "openupgrade" / "7.0" / "addons"
    when = T0 + 30 * 86400
    commits = [
        ("[FIX] project: the task table may not exist", OU_AUTHOR,
         {"project/migrations/7.0.1.1/post-migration.py": PROJECT_FIXED}),
        ("[IMP] crm: leads without a stage get the first one", CONTRIBUTOR,
         {"crm/migrations/7.0.1.0/post-migration.py": CRM_STAGES}),
    ]
    for offset, (message, author, files) in enumerate(commits):
        commit_files(tree, files, message, author, when + 600 * offset)
    return [message for message, _, _ in commits]


# -- the sample database ------------------------------------------------------------------------


def server_dsn(root: Path) -> tuple[str, pgcluster.ThrowawayCluster | None]:
    """The configured DSN when it answers, else a throwaway cluster under the demo's data dir."""
    dsn = os.environ.get("OUHUB_DEMO_DSN", LOCAL_DSN)
    if pgcluster.reachable(dsn):
        return dsn, None
    print(f"no PostgreSQL answers at {dsn}: starting a throwaway cluster", flush=True)
    cluster = pgcluster.ThrowawayCluster(root / "data" / "pgcluster")
    return cluster.start(), cluster


def build_sample(dsn: str, dump: Path) -> None:
    from examples.demo.sampledb import SampleModule, create_sample_database, dump_database

    by_name = {m.name: m for m in MODULES}
    modules = [SampleModule(n, by_name[n].v61, tuple(by_name[n].depends)) for n in SAMPLE_MODULES]
    with pgcluster.scratch_database(dsn, "ouhub_demo_build") as target:
        create_sample_database(target, "6.1", modules, partners=200)
        dump_database(target, dump, fmt="custom")


# -- the config ---------------------------------------------------------------------------------


def write_config(root: Path, dsn: str) -> Path:
    standin = REPO / "tests" / "standin" / "openerp_server.py"
    command = (
        f"{sys.executable} {standin} -d {{database}} --db_host {{db_host}} --db_port {{db_port}} "
        f"-r {{db_user}} --addons-path {{addons_path}} --logfile {{logfile}} "
        "-u all --stop-after-init --release {release}"
    )
    lines = [
        "# The demo project's config, written by examples/demo/build.py.",
        "# Branch URLs are local bzr branches; the upgrade command is the test stand-in.",
        'data_dir = "data"',
        f'dsn = "{dsn}"',
        "",
    ]
    for release, previous in (("6.1", None), ("7.0", "6.1")):
        lines.append(f'[releases."{release}"]')
        if previous:
            lines.append(f'previous = "{previous}"')
        lines.append("")
        for kind, addons in (("server", "openerp/addons"), ("addons", ".")):
            lines += [
                f'[releases."{release}".branches.{kind}]',
                f'url = "{root / "openupgrade" / release / kind}"',
                f'upstream = "{root / "upstream" / release / kind}"',
                'vcs = "bzr"',
                f'addons = ["{addons}"]',
                "",
            ]
    lines += [
        "[[samples]]",
        'name = "demo61"',
        'release = "6.1"',
        'dump = "samples/demo61.dump"',
        "",
        "[runner]",
        "timeout = 120",
        "parallel = 1",
        "",
        "[runner.commands]",
        f'"7.0" = "{command}"',
        "",
        "[site]",
        'output = "site"',
        'title = "OpenUpgrade status (demo)"',
        'code_browser = "https://github.com/OCA/OpenUpgrade/blob/{release}/{path}"',
        "",
    ]
    path = root / "ouhub.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def build_demo(out: Path = DEFAULT_OUT, with_sample: bool = True) -> Demo:
    """Build the whole demo project afresh under ``out``."""
    out = Path(out).resolve()
    if out.exists():
        # A previous demo may have left its throwaway cluster running.
        old = pgcluster.ThrowawayCluster(out / "data" / "pgcluster")
        old.stop()
        shutil.rmtree(out)
    out.mkdir(parents=True)
    branches = build_branches(out)
    cluster = None
    dsn = LOCAL_DSN
    if with_sample:
        dsn, cluster = server_dsn(out)
        (out / "samples").mkdir()
        build_sample(dsn, out / "samples" / "demo61.dump")
    config = write_config(out, dsn)
    return Demo(root=out, config=config, dsn=dsn, cluster=cluster, branches=branches)

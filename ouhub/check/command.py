"""`ouhub check`'s entry point: read the modules, load the check data, decide the verdicts."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ouhub.check.modlist import parse_module_list
from ouhub.check.rules import CheckReport, chain, decide_verdicts
from ouhub.errors import CheckError, OuhubError
from ouhub.fsutil import read_capped
from ouhub.versions import release_of_version

MAX_MODULE_LIST = 1 << 20  # a list of every module of a large installation: some 10 KB


@dataclass(frozen=True)
class CheckInput:
    """The modules to check and where they came from (kind: modules, file or database)."""

    kind: str
    modules: tuple[str, ...]
    versions: dict[str, str | None]
    database: str | None = None  # the DSN, password hidden
    base_version: str | None = None
    skipped: tuple[str | None, ...] = ()  # what the database held that is no module name

    @property
    def release(self) -> str | None:
        return release_of_version(self.base_version)


def read_input(
    modules: str | None = None, modules_file: str | None = None, database: str | None = None,
    stdin: Any = None,
) -> CheckInput:
    """Exactly one of a comma list, a file ('-': stdin) or a live database."""
    given = [name for name, value in (
        ("--modules", modules), ("--modules-file", modules_file), ("--database", database)
    ) if value is not None]
    if len(given) != 1:
        raise CheckError(
            "pass exactly one of --modules, --modules-file or --database"
            + (f" (got {' and '.join(given)})" if given else ""),
            hint="e.g. ouhub check --to 8.0 --from 7.0 --modules account,sale,stock",
        )
    if modules is not None:
        return CheckInput("modules", parse_module_list(modules, "--modules"), {})
    if modules_file is not None:
        try:
            if modules_file == "-":
                import sys

                text = (stdin or sys.stdin).read(MAX_MODULE_LIST + 1)
                if len(text) > MAX_MODULE_LIST:
                    raise ValueError(f"larger than {MAX_MODULE_LIST:,} characters")
            else:
                text = read_capped(Path(modules_file), MAX_MODULE_LIST).decode("utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise CheckError(
                f"cannot read the module list {modules_file}: {exc}",
                hint="pass a UTF-8 text file of module names, or - for stdin",
            ) from exc
        name = "stdin" if modules_file == "-" else modules_file
        return CheckInput("file", parse_module_list(text, name), {})
    from ouhub.check.db import read_database
    from ouhub.redact import redact_dsn

    assert database is not None
    installed = read_database(database)
    return CheckInput(
        "database", tuple(installed.versions), dict(installed.versions),
        database=redact_dsn(database), base_version=installed.base_version,
        skipped=installed.skipped,
    )


def source_release(given: str | None, found: CheckInput) -> tuple[str, bool]:
    """--from, else the database's release from base's version; (release, detected?)."""
    if given:
        return given, False
    if found.kind != "database":
        raise CheckError(
            "--from is needed with a module list",
            hint="say which release the modules run on now, e.g. --from 7.0 "
            "(with --database it is read from the base module's version)",
        )
    if found.release is None:
        raise CheckError(
            f"cannot tell the release of the database: base's version is "
            f"{found.base_version!r}",
            hint="pass --from with the release the database runs on",
        )
    return found.release, True


def run_check(
    target: str, source: str | None, found: CheckInput,
    load: Callable[[Sequence[str]], Mapping[str, Any]],
) -> tuple[CheckReport, bool]:
    """Decide for the input; (report, whether the source release was detected).

    ``load(releases)`` returns the check data with (at least) the steps into those
    releases; ``load(())`` is asked first, for the releases alone.
    """
    release, detected = source_release(source, found)
    known = [r["name"] for r in load(()).get("releases", [])]
    if detected and release not in known:
        raise CheckError(
            f"the database runs release {release} (base {found.base_version}), which is not "
            "configured",
            hint="known releases: " + (", ".join(known) or "none") + "; pass --from to override",
        )
    steps = chain({"releases": load(()).get("releases", [])}, release, target)
    data = load([r for _, r in steps])
    return decide_verdicts(found.modules, release, target, data), detected


@dataclass(frozen=True)
class CheckResult:
    """What `ouhub check` decided and from what: the report, its input, and whether the
    source release was read from the database."""

    report: CheckReport
    found: CheckInput
    detected: bool


def check(
    target: str | None, source: str | None, modules: str | None, modules_file: str | None,
    database: str | None, data_file: str | None,
    stored: Callable[[], Mapping[str, Any]],
) -> CheckResult:
    """The command: the modules of exactly one input, judged against the check data of
    ``data_file`` (a site's api/check-data.json) or else ``stored()`` (the store's)."""
    if not target:
        raise CheckError("--to is required: the release to upgrade to",
                         hint="e.g. ouhub check --to 8.0 --from 7.0 --modules account")
    found = read_input(modules, modules_file, database)
    if data_file:
        from ouhub.check.data import load_check_data

        try:
            with open(data_file, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckError(f"cannot read the check data {data_file}: {exc}",
                             hint="pass the api/check-data.json of a built site") from exc
        data = load_check_data(text, data_file)

        def load(releases: Sequence[str]) -> Mapping[str, Any]:
            return data
    else:
        loaded: list[Mapping[str, Any]] = []

        def load(releases: Sequence[str]) -> Mapping[str, Any]:
            if not loaded:
                loaded.append(stored())
            return loaded[0]
    try:
        report, detected = run_check(target, source, found, load)
    except OuhubError as exc:
        if isinstance(exc, CheckError):
            raise
        # Exit 2 means "something is blocked" here: a bad config or store is a usage error.
        raise CheckError(exc.message, hint=exc.hint) from exc
    return CheckResult(report, found, detected)





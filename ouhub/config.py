"""The TOML config, read into typed, frozen objects.

Loading (``load``: file -> dict) is apart from validating (``from_dict``: dict
-> Config), so tests and ``discover --write`` can validate a dict they built.
Every mistake is collected and reported at once, each naming the file, the
line where we can find it, the key and what is expected.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ouhub.errors import ConfigError
from ouhub.fsutil import read_capped
from ouhub.redact import redact_dsn
from ouhub.versions import is_release_name, version_key

DEFAULT_CONFIG = "ouhub.toml"
ENV_CONFIG = "OUHUB_CONFIG"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
MAX_CONFIG_BYTES = 1 << 20  # the real project's config, every release from 6.0 to 19.0: 10 KB
DEFAULT_QUEUE = "ouhub-runs"
DEFAULT_LOG_LIMIT = 1_000_000  # characters of an upgrade log kept, and sent back by a worker
# (head + tail)
BROKER_SCHEMES = ("amqp://", "amqps://")
DUMP_URL_SCHEMES = ("http://", "https://")
VCS_KINDS = ("bzr", "git")
PLACEHOLDERS = (
    "database", "db_host", "db_port", "db_user", "db_password", "addons_path",
    "logfile", "data_dir", "release", "previous",
)


@dataclass(frozen=True)
class Branch:
    """A named source of a release: its URL, fallbacks and upstream."""

    release: str
    name: str
    url: str
    fallback: tuple[str, ...] = ()
    upstream: str | None = None
    vcs: str | None = None  # None: detected from the URL and the mirror
    addons: tuple[str, ...] = ()  # module folders inside the branch; () = detect
    code_browser: str | None = None  # its files' URLs; None: [site] code_browser

    @property
    def key(self) -> str:
        return f"{self.release}/{self.name}"


@dataclass(frozen=True)
class Release:
    name: str
    previous: str | None
    branches: tuple[Branch, ...] = ()

    def branch(self, name: str) -> Branch:
        for branch in self.branches:
            if branch.name == name:
                return branch
        known = ", ".join(b.name for b in self.branches) or "none"
        raise ConfigError(
            f"release {self.name} has no branch {name!r} (it has: {known})",
            hint="check the branch name against `ouhub config check`",
        )


@dataclass(frozen=True)
class Sample:
    """A sample database of a release: a dump, and optionally its filestore.

    A dump given as an http(s) URL is fetched into ``dump`` (under the data dir) first.
    """

    name: str
    release: str
    dump: Path
    filestore: Path | None = None
    url: str | None = None  # where the dump is fetched from, when not a path


@dataclass(frozen=True)
class RunnerSettings:
    commands: dict[str, str] = field(default_factory=dict)  # release -> command template
    timeout: float = 3600.0
    parallel: int = 1
    broker: str | None = None  # RabbitMQ URL: runs go to `ouhub worker`s; None = in-process
    queue: str = DEFAULT_QUEUE
    log_limit: int = DEFAULT_LOG_LIMIT


@dataclass(frozen=True)
class SiteSettings:
    output: Path
    base_url: str = ""
    code_browser: str | None = None  # e.g. https://host/{release}/{branch}/{path}
    title: str = "OpenUpgrade status"
    feeds: tuple[tuple[str, ...], ...] = ()  # module sets with an Atom feed of their own


@dataclass(frozen=True)
class ContributionsSettings:
    """Where pull requests and tracking issues are read ([contributions])."""

    github: str = "OCA/OpenUpgrade"  # owner/repo
    api: str = "https://api.github.com"
    token_env: str = "GITHUB_TOKEN"  # the variable holding the token; the token is never stored
    tracking_title: str = "Migration to version {release}"
    stale_days: int = 120
    launchpad: tuple[str, ...] = ()  # Launchpad projects whose merge proposals are read

    def token(self) -> str | None:
        """The token from the environment, or None (anonymous)."""
        return os.environ.get(self.token_env) or None


@dataclass(frozen=True)
class Config:
    path: Path | None
    data_dir: Path
    dsn: str
    releases: dict[str, Release]
    samples: tuple[Sample, ...]
    runner: RunnerSettings
    site: SiteSettings
    contributions: ContributionsSettings | None = None  # None: no [contributions] table

    def release(self, name: str) -> Release:
        try:
            return self.releases[name]
        except KeyError:
            raise ConfigError(
                f"unknown release {name!r}",
                hint="known releases: " + (", ".join(self.releases) or "none configured"),
            ) from None

    def sample(self, name: str) -> Sample:
        for sample in self.samples:
            if sample.name == name:
                return sample
        known = ", ".join(s.name for s in self.samples) or "none configured"
        raise ConfigError(f"unknown sample {name!r}", hint=f"known samples: {known}")

    def chain(self, source: str, target: str) -> list[tuple[str, str]]:
        """The steps (previous, release) that lead from ``source`` to ``target``."""
        self.release(source)
        steps: list[tuple[str, str]] = []
        current = self.release(target)
        while current.name != source:
            if current.previous is None:
                raise ConfigError(
                    f"release {target} does not follow {source}",
                    hint="an upgrade only goes forward along `previous`",
                )
            steps.append((current.previous, current.name))
            current = self.releases.get(current.previous) or Release(current.previous, None)
        return steps[::-1]

    @property
    def steps(self) -> list[tuple[str, str]]:
        """Every configured step (previous, release), oldest first."""
        return [(r.previous, r.name) for r in self.releases.values() if r.previous]

    @property
    def mirrors_dir(self) -> Path:
        return self.data_dir / "mirrors"

    def mirror_path(self, branch: Branch) -> Path:
        return self.mirrors_dir / branch.release / branch.name

    def upstream_mirror_path(self, branch: Branch) -> Path:
        return self.mirrors_dir / "upstream" / branch.release / branch.name

    @property
    def store_path(self) -> Path:
        return self.data_dir / "ouhub.sqlite"

    def redacted(self) -> dict[str, Any]:
        """The resolved config as plain data, passwords hidden."""
        return {
            "path": str(self.path) if self.path else None,
            "data_dir": str(self.data_dir),
            "dsn": redact_dsn(self.dsn),
            "releases": {
                r.name: {
                    "previous": r.previous,
                    "branches": {
                        b.name: {
                            "url": redact_dsn(b.url),
                            "fallback": [redact_dsn(u) for u in b.fallback],
                            "upstream": redact_dsn(b.upstream) if b.upstream else None,
                            "vcs": b.vcs or "auto",
                            "addons": list(b.addons) or "auto",
                            "code_browser": b.code_browser,
                        }
                        for b in r.branches
                    },
                }
                for r in self.releases.values()
            },
            "samples": [
                {
                    "name": s.name,
                    "release": s.release,
                    "dump": redact_dsn(s.url) if s.url else str(s.dump),
                    "filestore": str(s.filestore) if s.filestore else None,
                }
                for s in self.samples
            ],
            "runner": {
                "timeout": self.runner.timeout,
                "parallel": self.runner.parallel,
                "broker": redact_dsn(self.runner.broker) if self.runner.broker else None,
                "queue": self.runner.queue,
                "log_limit": self.runner.log_limit,
                "commands": dict(self.runner.commands),
            },
            "site": {
                "output": str(self.site.output),
                "base_url": self.site.base_url,
                "code_browser": self.site.code_browser,
                "title": self.site.title,
                "feeds": [list(modules) for modules in self.site.feeds],
            },
            "contributions": None if self.contributions is None else {
                "github": self.contributions.github,
                "api": self.contributions.api,
                "token_env": self.contributions.token_env,  # its name; the token is never shown
                "tracking_title": self.contributions.tracking_title,
                "stale_days": self.contributions.stale_days,
                "launchpad": list(self.contributions.launchpad),
            },
        }


def find_config(explicit: str | os.PathLike | None) -> Path:
    """--config, else $OUHUB_CONFIG, else ./ouhub.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG])
    return Path(DEFAULT_CONFIG)


def load(path: str | os.PathLike) -> Config:
    """Read and validate the config file at ``path``."""
    path = Path(path)
    try:
        text = read_capped(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file",
            hint="pass --config FILE, set $OUHUB_CONFIG, or copy examples/openupgrade.toml "
            "to ./ouhub.toml",
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}",
                          hint="give the path of a TOML file (--config FILE)") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML: {exc}", hint="fix the syntax at the line shown"
        ) from exc
    except RecursionError:
        raise ConfigError(f"{path}: not valid TOML: arrays or tables nested too deeply",
                          hint="a config needs a few levels, not thousands") from None
    return from_dict(data, path=path, text=text)


# -- validation ---------------------------------------------------------------------------------

def _close_matches(word: str, possibilities: Any, n: int = 1) -> list[str]:
    """difflib.get_close_matches, imported only when a config has a mistake to explain
    (every command loads the config; few need the suggestions)."""
    import difflib

    return difflib.get_close_matches(word, possibilities, n=n)


_TOP_KEYS = {"data_dir", "dsn", "releases", "samples", "runner", "site", "contributions"}
_RELEASE_KEYS = {"previous", "branches"}
_BRANCH_KEYS = {"url", "fallback", "upstream", "vcs", "addons", "code_browser"}
_SAMPLE_KEYS = {"name", "release", "dump", "filestore"}
_RUNNER_KEYS = {"commands", "timeout", "parallel", "broker", "queue", "log_limit"}
_SITE_KEYS = {"output", "base_url", "code_browser", "title", "feeds"}
_CONTRIBUTIONS_KEYS = {"github", "api", "token_env", "tracking_title", "stale_days", "launchpad"}


class _Problems:
    """Collects every mistake with its key path, so the user fixes them in one go."""

    def __init__(self, path: Path | None, text: str | None):
        self.path = path
        self.text = text or ""
        self.items: list[str] = []

    def add(self, keys: tuple, message: str) -> None:
        where = str(self.path) if self.path else "<config>"
        line = _line_of(self.text, keys)
        if line:
            where += f":{line}"
        dotted = ".".join(_quote_key(k) for k in keys)
        self.items.append(f"{where}: {dotted}: {message}" if keys else f"{where}: {message}")

    def unknown_keys(self, keys: tuple, table: dict, allowed: set[str]) -> None:
        for key in table:
            if key not in allowed:
                close = _close_matches(key, sorted(allowed), n=1)
                advice = f"did you mean {close[0]!r}?" if close else (
                    "expected one of: " + ", ".join(sorted(allowed))
                )
                self.add(keys + (key,), f"unknown key; {advice}")

    def raise_if_any(self) -> None:
        if self.items:
            count = len(self.items)
            head = "1 mistake" if count == 1 else f"{count} mistakes"
            raise ConfigError(
                f"config has {head}:\n  " + "\n  ".join(self.items),
                hint="see the config reference in README.md",
            )


def _quote_key(key: Any) -> str:
    key = str(key)
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else f'"{key}"'


def _line_of(text: str, keys: tuple) -> int | None:
    """Best-effort line number of a key path in the TOML text (for messages only)."""
    if not text or not keys:
        return None
    lines = text.splitlines()
    def key_re(key: Any) -> str:
        return r'(?:"?' + re.escape(str(key)) + r'"?)'

    # Look for the deepest table header that matches a prefix of the path, then the key.
    for depth in range(len(keys), 0, -1):
        header = r"\s*\[\[?\s*" + r"\s*\.\s*".join(key_re(k) for k in keys[:depth]) + r"\s*\]\]?"
        for number, line in enumerate(lines, 1):
            if re.match(header, line):
                if depth == len(keys):
                    return number
                rest = keys[depth]
                for offset, after in enumerate(lines[number:], number + 1):
                    if re.match(r"\s*\[", after):
                        break
                    if re.match(r"\s*" + key_re(rest) + r"\s*[=.]", after):
                        return offset
                return number
    for number, line in enumerate(lines, 1):
        if re.match(r"\s*" + key_re(keys[-1]) + r"\s*=", line):
            return number
    return None


def _expect(problems: _Problems, keys: tuple, value: Any, kind: type | tuple, what: str) -> bool:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        problems.add(keys, f"expected {what}, got {value!r}")
        return False
    if not isinstance(value, kind):
        problems.add(keys, f"expected {what}, got {type(value).__name__} {value!r}")
        return False
    return True


def _str_list(problems: _Problems, keys: tuple, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(keys, f"expected a list of strings, got {value!r}")
        return ()
    return tuple(value)


def _resolve(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path)


def vcs_of_url(url: str) -> str | None:
    """The VCS a URL names by its form alone (lp:, bzr://, .git, ,branch=), else None."""
    if url.startswith(("lp:", "bzr://", "bzr+ssh://")) or "bazaar.launchpad.net" in url:
        return "bzr"
    if url.startswith("git://") or url.endswith(".git") or ".git," in url or url.startswith("git+"):
        return "git"
    return None


def from_dict(data: dict[str, Any], path: Path | None = None, text: str | None = None) -> Config:
    """Validate a parsed config; raises one ConfigError listing every mistake."""
    problems = _Problems(path, text)
    base = path.parent.resolve() if path else Path.cwd()
    problems.unknown_keys((), data, _TOP_KEYS)

    data_dir = base / "data"
    if "data_dir" in data and _expect(problems, ("data_dir",), data["data_dir"], str, "a path"):
        data_dir = _resolve(base, data["data_dir"])
    dsn = data.get("dsn", DEFAULT_DSN)
    if not _expect(problems, ("dsn",), dsn, str, "a PostgreSQL DSN string"):
        dsn = DEFAULT_DSN

    releases = _releases(problems, data.get("releases", {}))
    samples = _samples(problems, data.get("samples", []), base, releases, data_dir)
    runner = _runner(problems, data.get("runner", {}), releases)
    site = _site(problems, data.get("site", {}), base, data_dir)
    contributions = (
        _contributions(problems, data["contributions"]) if "contributions" in data else None
    )
    problems.raise_if_any()
    return Config(
        path=path, data_dir=data_dir, dsn=dsn, releases=releases, samples=samples,
        runner=runner, site=site, contributions=contributions,
    )


def _releases(problems: _Problems, table: Any) -> dict[str, Release]:
    if not _expect(problems, ("releases",), table, dict, "a table of releases"):
        return {}
    raw: dict[str, Release] = {}
    for name, body in table.items():
        keys = ("releases", name)
        if not is_release_name(name):
            if name.isdigit() and isinstance(body, dict) and any(k.isdigit() for k in body):
                # [releases.7.0] unquoted: TOML reads it as release "7" holding a table "0"
                problems.add(keys, f'quote the release name: [releases."{name}.'
                             f'{next(k for k in body if k.isdigit())}"] (unquoted, TOML '
                             "splits 7.0 at the dot)")
                continue
            problems.add(keys, "a release name looks like 7.0 or 17.0")
        if not _expect(problems, keys, body, dict, "a table with previous and branches"):
            continue
        problems.unknown_keys(keys, body, _RELEASE_KEYS)
        previous = body.get("previous")
        if previous is not None and not _expect(
            problems, keys + ("previous",), previous, str, "a release name such as \"6.1\""
        ):
            previous = None
        branches = []
        branch_table = body.get("branches", {})
        if _expect(problems, keys + ("branches",), branch_table, dict, "a table of branches"):
            if not branch_table:
                problems.add(keys + ("branches",), "a release needs at least one branch")
            for bname, braw in branch_table.items():
                branch = _branch(problems, keys + ("branches", bname), name, bname, braw)
                if branch:
                    branches.append(branch)
        raw[name] = Release(name=name, previous=previous, branches=tuple(branches))

    for name, release in raw.items():
        if release.previous is not None and release.previous not in raw:
            hint = _close_matches(release.previous, list(raw), n=1)
            problems.add(
                ("releases", name, "previous"),
                f"release {release.previous!r} is not configured"
                + (f"; did you mean {hint[0]!r}?" if hint else "; add it or remove `previous`"),
            )
    for name in raw:
        seen, current = [name], raw[name].previous
        while current in raw:
            if current in seen:
                cycle = " -> ".join(seen[seen.index(current):] + [current])
                problems.add(("releases", name, "previous"), f"`previous` forms a cycle: {cycle}")
                break
            seen.append(current)
            current = raw[current].previous
    return dict(sorted(raw.items(), key=lambda item: version_key(item[0])))


def _branch(problems: _Problems, keys: tuple, release: str, name: str, body: Any) -> Branch | None:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):  # never '..': a mirror's folder
        problems.add(keys, "a branch name starts with a letter, digit or '_' and uses letters, "
                     "digits, '.', '_' or '-'")
        return None
    if isinstance(body, str):
        body = {"url": body}
    if not _expect(problems, keys, body, dict, "a table with url (and fallback, upstream, vcs)"):
        return None
    problems.unknown_keys(keys, body, _BRANCH_KEYS)
    url = body.get("url")
    if url is None:
        problems.add(keys + ("url",), "missing required key (the branch's URL or lp: name)")
        return None
    if not _expect(problems, keys + ("url",), url, str, "a URL or lp: name"):
        return None
    upstream = body.get("upstream")
    if upstream is not None and not _expect(problems, keys + ("upstream",), upstream, str, "a URL"):
        upstream = None
    vcs = body.get("vcs", vcs_of_url(url))
    if vcs is not None and vcs not in VCS_KINDS:
        problems.add(keys + ("vcs",), f"expected one of {', '.join(VCS_KINDS)}, got {vcs!r}")
        vcs = None
    code_browser = body.get("code_browser")
    if code_browser is not None and not _expect(problems, keys + ("code_browser",), code_browser,
                                                str, "a URL pattern with {path}"):
        code_browser = None
    return Branch(
        release=release,
        name=name,
        url=url,
        fallback=_str_list(problems, keys + ("fallback",), body.get("fallback", [])),
        upstream=upstream,
        vcs=vcs,
        addons=_str_list(problems, keys + ("addons",), body.get("addons", [])),
        code_browser=code_browser,
    )


def _samples(
    problems: _Problems, items: Any, base: Path, releases: dict[str, Release], data_dir: Path
) -> tuple[Sample, ...]:
    if not _expect(problems, ("samples",), items, list, "an array of [[samples]] tables"):
        return ()
    samples, names = [], set()
    for index, body in enumerate(items):
        keys = ("samples",)
        if not _expect(problems, keys, body, dict, "a [[samples]] table"):
            continue
        problems.unknown_keys(keys, body, _SAMPLE_KEYS)
        missing = [k for k in ("name", "release", "dump") if k not in body]
        for key in missing:
            problems.add(keys + (key,), f"missing required key in sample #{index + 1}")
        if missing:
            continue
        name, release, dump = body["name"], body["release"], body["dump"]
        if not all(isinstance(v, str) for v in (name, release, dump)):
            problems.add(keys, f"sample #{index + 1}: name, release and dump are strings")
            continue
        if not re.fullmatch(r"[a-z0-9_]+", name):
            problems.add(keys + ("name",), f"{name!r}: use lowercase letters, digits and '_'")
        if name in names:
            problems.add(keys + ("name",), f"sample {name!r} is defined twice")
        names.add(name)
        if release not in releases:
            problems.add(keys + ("release",), f"sample {name!r}: release {release!r} is not configured")
        filestore = body.get("filestore")
        if filestore is not None and not _expect(problems, keys + ("filestore",), filestore, str, "a path"):
            filestore = None
        url = dump if dump.startswith(DUMP_URL_SCHEMES) else None
        if "://" in dump and url is None:
            problems.add(keys + ("dump",), f"sample {name!r}: a dump is a path or an http(s) URL, "
                         f"got {redact_dsn(dump)!r}")
        samples.append(Sample(
            name=name, release=release,
            dump=data_dir / "samples" / "downloads" / f"{name}.dump" if url else _resolve(base, dump),
            filestore=_resolve(base, filestore) if filestore else None, url=url,
        ))
    return tuple(samples)


def _runner(problems: _Problems, body: Any, releases: dict[str, Release]) -> RunnerSettings:
    if not _expect(problems, ("runner",), body, dict, "a [runner] table"):
        return RunnerSettings()
    problems.unknown_keys(("runner",), body, _RUNNER_KEYS)
    timeout = body.get("timeout", 3600)
    if not _expect(problems, ("runner", "timeout"), timeout, (int, float), "seconds, a number"):
        timeout = 3600
    elif not math.isfinite(timeout) or timeout <= 0:  # nan and inf would disable the timeout
        problems.add(("runner", "timeout"), f"expected a positive number of seconds, got {timeout}")
    parallel = body.get("parallel", 1)
    if not _expect(problems, ("runner", "parallel"), parallel, int, "a whole number"):
        parallel = 1
    elif parallel < 1:
        problems.add(("runner", "parallel"), "expected at least 1")
    commands: dict[str, str] = {}
    table = body.get("commands", {})
    if _expect(problems, ("runner", "commands"), table, dict, "a table release = command"):
        for release, command in table.items():
            keys = ("runner", "commands", release)
            if release not in releases:
                problems.add(keys, f"release {release!r} is not configured")
            if not _expect(problems, keys, command, str, "a command template string"):
                continue
            for placeholder in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", command):
                if placeholder not in PLACEHOLDERS and not placeholder.startswith("mirror_"):
                    close = _close_matches(placeholder, PLACEHOLDERS, n=1)
                    problems.add(keys, f"unknown placeholder {{{placeholder}}}"
                                 + (f"; did you mean {{{close[0]}}}?" if close else ""))
            commands[release] = command
    broker = body.get("broker")
    if broker is not None and _expect(problems, ("runner", "broker"), broker, str, "a URL"):
        if not broker.startswith(BROKER_SCHEMES):
            problems.add(("runner", "broker"), f"expected a RabbitMQ URL such as "
                         f"amqp://user:password@host:5672/vhost, got {redact_dsn(broker)!r}")
    elif broker is not None:
        broker = None
    queue = body.get("queue", DEFAULT_QUEUE)
    if not _expect(problems, ("runner", "queue"), queue, str, "a queue name"):
        queue = DEFAULT_QUEUE
    elif not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", queue):
        problems.add(("runner", "queue"), f"{queue!r}: a queue name uses letters, digits, "
                     "'.', '_', ':' or '-'")
    log_limit = body.get("log_limit", DEFAULT_LOG_LIMIT)
    if not _expect(problems, ("runner", "log_limit"), log_limit, int, "a number of characters"):
        log_limit = DEFAULT_LOG_LIMIT
    elif log_limit < 10_000:
        problems.add(("runner", "log_limit"), "expected at least 10000 characters")
    return RunnerSettings(commands=commands, timeout=float(timeout), parallel=int(parallel),
                          broker=broker, queue=queue, log_limit=int(log_limit))


def _site(problems: _Problems, body: Any, base: Path, data_dir: Path) -> SiteSettings:
    default = SiteSettings(output=data_dir / "site")
    if not _expect(problems, ("site",), body, dict, "a [site] table"):
        return default
    problems.unknown_keys(("site",), body, _SITE_KEYS)
    values: dict[str, Any] = {}
    for key in ("output", "base_url", "code_browser", "title"):
        if key in body and _expect(problems, ("site", key), body[key], str, "a string"):
            values[key] = body[key]
    output = _resolve(base, values["output"]) if "output" in values else default.output
    return SiteSettings(
        output=output,
        base_url=values.get("base_url", ""),
        code_browser=values.get("code_browser"),
        title=values.get("title", default.title),
        feeds=_feeds(problems, body.get("feeds", [])),
    )


def _contributions(problems: _Problems, body: Any) -> ContributionsSettings:
    default = ContributionsSettings()
    keys = ("contributions",)
    if not _expect(problems, keys, body, dict, "a [contributions] table"):
        return default
    problems.unknown_keys(keys, body, _CONTRIBUTIONS_KEYS)
    values: dict[str, Any] = {}
    for key in ("github", "api", "token_env", "tracking_title"):
        if key in body and _expect(problems, keys + (key,), body[key], str, "a string"):
            values[key] = body[key]
    github = values.get("github", default.github)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", github):
        problems.add(keys + ("github",), f"expected owner/repo such as OCA/OpenUpgrade, "
                     f"got {github!r}")
    api = values.get("api", default.api)
    if not re.match(r"https?://[^/\s]+", api):
        problems.add(keys + ("api",), f"expected an http(s) URL such as {default.api}, got {api!r}")
    token_env = values.get("token_env", default.token_env)
    if re.match(r"(gh[opusr]_|github_pat_)", token_env):
        # never repeat the value: it is a token pasted where its variable's name belongs
        problems.add(keys + ("token_env",), "this looks like a token itself: put the token in "
                     "an environment variable and name that variable here (e.g. GITHUB_TOKEN); "
                     "remove the token from the config and revoke it")
        token_env = default.token_env
    elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        problems.add(keys + ("token_env",), "expected the NAME of an environment variable "
                     "such as GITHUB_TOKEN (the token itself never goes in the config)")
    title = values.get("tracking_title", default.tracking_title)
    if "{release}" not in title:
        problems.add(keys + ("tracking_title",), "must contain {release}, e.g. "
                     f"{default.tracking_title!r}")
    stale_days = body.get("stale_days", default.stale_days)
    if not _expect(problems, keys + ("stale_days",), stale_days, int, "a whole number of days"):
        stale_days = default.stale_days
    elif stale_days < 1:
        problems.add(keys + ("stale_days",), "expected at least 1 day")
    return ContributionsSettings(
        github=github, api=api.rstrip("/"), token_env=token_env, tracking_title=title,
        stale_days=int(stale_days),
        launchpad=_str_list(problems, keys + ("launchpad",), body.get("launchpad", [])),
    )


def _feeds(problems: _Problems, value: Any) -> tuple[tuple[str, ...], ...]:
    """``feeds = [["sale", "crm"], ["account"]]``: module sets, each a list of module names."""
    from ouhub.check.modlist import MODULE_NAME

    keys = ("site", "feeds")
    if not isinstance(value, list) or not all(isinstance(v, list) and v for v in value):
        problems.add(keys, f'expected a list of module lists such as [["sale", "crm"]], '
                           f"got {value!r}")
        return ()
    sets = []
    for modules in value:
        bad = [m for m in modules if not isinstance(m, str) or not MODULE_NAME.match(m)]
        if bad:
            problems.add(keys, f"not module names (lowercase technical names): {bad!r}")
            continue
        sets.append(tuple(sorted(set(modules))))
    return tuple(dict.fromkeys(sets))

"""Validating a parsed config (dict -> Config), one function per table; every mistake is
collected and reported at once."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ouhub.config.problems import Problems, close_matches, expect, resolve_path, str_list
from ouhub.config.records import (
    DEFAULT_LOG_LIMIT,
    DEFAULT_QUEUE,
    Branch,
    Config,
    ContributionsSettings,
    Release,
    RunnerSettings,
    Sample,
    SiteSettings,
)
from ouhub.redact import redact_dsn
from ouhub.versions import is_release_name, version_key

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER_SCHEMES = ("amqp://", "amqps://")
DUMP_URL_SCHEMES = ("http://", "https://")
VCS_KINDS = ("bzr", "git")
PLACEHOLDERS = (
    "database", "db_host", "db_port", "db_user", "db_password", "addons_path",
    "logfile", "data_dir", "release", "previous",
)


_TOP_KEYS = {"data_dir", "dsn", "releases", "samples", "runner", "site", "contributions"}
_RELEASE_KEYS = {"previous", "branches"}
_BRANCH_KEYS = {"url", "fallback", "upstream", "vcs", "addons", "code_browser"}
_SAMPLE_KEYS = {"name", "release", "dump", "filestore"}
_RUNNER_KEYS = {"commands", "timeout", "parallel", "broker", "queue", "log_limit"}
_SITE_KEYS = {"output", "base_url", "code_browser", "title", "feeds"}
_CONTRIBUTIONS_KEYS = {"github", "api", "token_env", "tracking_title", "stale_days", "launchpad"}


def vcs_of_url(url: str) -> str | None:
    """The VCS a URL names by its form alone (lp:, bzr://, .git, ,branch=), else None."""
    if url.startswith(("lp:", "bzr://", "bzr+ssh://")) or "bazaar.launchpad.net" in url:
        return "bzr"
    if url.startswith("git://") or url.endswith(".git") or ".git," in url or url.startswith("git+"):
        return "git"
    return None


def from_dict(data: dict[str, Any], path: Path | None = None, text: str | None = None) -> Config:
    """Validate a parsed config; raises one ConfigError listing every mistake."""
    problems = Problems(path, text)
    base = path.parent.resolve() if path else Path.cwd()
    problems.unknown_keys((), data, _TOP_KEYS)

    data_dir = base / "data"
    if "data_dir" in data and expect(problems, ("data_dir",), data["data_dir"], str, "a path"):
        data_dir = resolve_path(base, data["data_dir"])
    dsn = data.get("dsn", DEFAULT_DSN)
    if not expect(problems, ("dsn",), dsn, str, "a PostgreSQL DSN string"):
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


def _releases(problems: Problems, table: Any) -> dict[str, Release]:
    if not expect(problems, ("releases",), table, dict, "a table of releases"):
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
        if not expect(problems, keys, body, dict, "a table with previous and branches"):
            continue
        problems.unknown_keys(keys, body, _RELEASE_KEYS)
        previous = body.get("previous")
        if previous is not None and not expect(
            problems, keys + ("previous",), previous, str, "a release name such as \"6.1\""
        ):
            previous = None
        branches = []
        branch_table = body.get("branches", {})
        if expect(problems, keys + ("branches",), branch_table, dict, "a table of branches"):
            if not branch_table:
                problems.add(keys + ("branches",), "a release needs at least one branch")
            for bname, braw in branch_table.items():
                branch = _branch(problems, keys + ("branches", bname), name, bname, braw)
                if branch:
                    branches.append(branch)
        raw[name] = Release(name=name, previous=previous, branches=tuple(branches))

    for name, release in raw.items():
        if release.previous is not None and release.previous not in raw:
            hint = close_matches(release.previous, list(raw), n=1)
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


def _branch(problems: Problems, keys: tuple, release: str, name: str, body: Any) -> Branch | None:
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):  # never '..': a mirror's folder
        problems.add(keys, "a branch name starts with a letter, digit or '_' and uses letters, "
                     "digits, '.', '_' or '-'")
        return None
    if isinstance(body, str):
        body = {"url": body}
    if not expect(problems, keys, body, dict, "a table with url (and fallback, upstream, vcs)"):
        return None
    problems.unknown_keys(keys, body, _BRANCH_KEYS)
    url = body.get("url")
    if url is None:
        problems.add(keys + ("url",), "missing required key (the branch's URL or lp: name)")
        return None
    if not expect(problems, keys + ("url",), url, str, "a URL or lp: name"):
        return None
    upstream = body.get("upstream")
    if upstream is not None and not expect(problems, keys + ("upstream",), upstream, str, "a URL"):
        upstream = None
    vcs = body.get("vcs", vcs_of_url(url))
    if vcs is not None and vcs not in VCS_KINDS:
        problems.add(keys + ("vcs",), f"expected one of {', '.join(VCS_KINDS)}, got {vcs!r}")
        vcs = None
    code_browser = body.get("code_browser")
    if code_browser is not None and not expect(problems, keys + ("code_browser",), code_browser,
                                                str, "a URL pattern with {path}"):
        code_browser = None
    return Branch(
        release=release,
        name=name,
        url=url,
        fallback=str_list(problems, keys + ("fallback",), body.get("fallback", [])),
        upstream=upstream,
        vcs=vcs,
        addons=str_list(problems, keys + ("addons",), body.get("addons", [])),
        code_browser=code_browser,
    )


def _samples(
    problems: Problems, items: Any, base: Path, releases: dict[str, Release], data_dir: Path
) -> tuple[Sample, ...]:
    if not expect(problems, ("samples",), items, list, "an array of [[samples]] tables"):
        return ()
    samples, names = [], set()
    for index, body in enumerate(items):
        keys = ("samples",)
        if not expect(problems, keys, body, dict, "a [[samples]] table"):
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
        if filestore is not None and not expect(problems, keys + ("filestore",), filestore, str, "a path"):
            filestore = None
        url = dump if dump.startswith(DUMP_URL_SCHEMES) else None
        if "://" in dump and url is None:
            problems.add(keys + ("dump",), f"sample {name!r}: a dump is a path or an http(s) URL, "
                         f"got {redact_dsn(dump)!r}")
        samples.append(Sample(
            name=name, release=release,
            dump=data_dir / "samples" / "downloads" / f"{name}.dump" if url else resolve_path(base, dump),
            filestore=resolve_path(base, filestore) if filestore else None, url=url,
        ))
    return tuple(samples)


def _runner(problems: Problems, body: Any, releases: dict[str, Release]) -> RunnerSettings:
    if not expect(problems, ("runner",), body, dict, "a [runner] table"):
        return RunnerSettings()
    problems.unknown_keys(("runner",), body, _RUNNER_KEYS)
    timeout = body.get("timeout", 3600)
    if not expect(problems, ("runner", "timeout"), timeout, (int, float), "seconds, a number"):
        timeout = 3600
    elif not math.isfinite(timeout) or timeout <= 0:  # nan and inf would disable the timeout
        problems.add(("runner", "timeout"), f"expected a positive number of seconds, got {timeout}")
    parallel = body.get("parallel", 1)
    if not expect(problems, ("runner", "parallel"), parallel, int, "a whole number"):
        parallel = 1
    elif parallel < 1:
        problems.add(("runner", "parallel"), "expected at least 1")
    commands: dict[str, str] = {}
    table = body.get("commands", {})
    if expect(problems, ("runner", "commands"), table, dict, "a table release = command"):
        for release, command in table.items():
            keys = ("runner", "commands", release)
            if release not in releases:
                problems.add(keys, f"release {release!r} is not configured")
            if not expect(problems, keys, command, str, "a command template string"):
                continue
            for placeholder in re.findall(r"(?<!\{)\{([^{}]*)\}(?!\})", command):
                if placeholder not in PLACEHOLDERS and not placeholder.startswith("mirror_"):
                    close = close_matches(placeholder, PLACEHOLDERS, n=1)
                    problems.add(keys, f"unknown placeholder {{{placeholder}}}"
                                 + (f"; did you mean {{{close[0]}}}?" if close else ""))
            commands[release] = command
    broker = body.get("broker")
    if broker is not None and expect(problems, ("runner", "broker"), broker, str, "a URL"):
        if not broker.startswith(BROKER_SCHEMES):
            problems.add(("runner", "broker"), f"expected a RabbitMQ URL such as "
                         f"amqp://user:password@host:5672/vhost, got {redact_dsn(broker)!r}")
    elif broker is not None:
        broker = None
    queue = body.get("queue", DEFAULT_QUEUE)
    if not expect(problems, ("runner", "queue"), queue, str, "a queue name"):
        queue = DEFAULT_QUEUE
    elif not re.fullmatch(r"[A-Za-z0-9_.:-]{1,200}", queue):
        problems.add(("runner", "queue"), f"{queue!r}: a queue name uses letters, digits, "
                     "'.', '_', ':' or '-'")
    log_limit = body.get("log_limit", DEFAULT_LOG_LIMIT)
    if not expect(problems, ("runner", "log_limit"), log_limit, int, "a number of characters"):
        log_limit = DEFAULT_LOG_LIMIT
    elif log_limit < 10_000:
        problems.add(("runner", "log_limit"), "expected at least 10000 characters")
    return RunnerSettings(commands=commands, timeout=float(timeout), parallel=int(parallel),
                          broker=broker, queue=queue, log_limit=int(log_limit))


def _site(problems: Problems, body: Any, base: Path, data_dir: Path) -> SiteSettings:
    default = SiteSettings(output=data_dir / "site")
    if not expect(problems, ("site",), body, dict, "a [site] table"):
        return default
    problems.unknown_keys(("site",), body, _SITE_KEYS)
    values: dict[str, Any] = {}
    for key in ("output", "base_url", "code_browser", "title"):
        if key in body and expect(problems, ("site", key), body[key], str, "a string"):
            values[key] = body[key]
    output = resolve_path(base, values["output"]) if "output" in values else default.output
    return SiteSettings(
        output=output,
        base_url=values.get("base_url", ""),
        code_browser=values.get("code_browser"),
        title=values.get("title", default.title),
        feeds=_feeds(problems, body.get("feeds", [])),
    )


def _contributions(problems: Problems, body: Any) -> ContributionsSettings:
    default = ContributionsSettings()
    keys = ("contributions",)
    if not expect(problems, keys, body, dict, "a [contributions] table"):
        return default
    problems.unknown_keys(keys, body, _CONTRIBUTIONS_KEYS)
    values: dict[str, Any] = {}
    for key in ("github", "api", "token_env", "tracking_title"):
        if key in body and expect(problems, keys + (key,), body[key], str, "a string"):
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
    if not expect(problems, keys + ("stale_days",), stale_days, int, "a whole number of days"):
        stale_days = default.stale_days
    elif stale_days < 1:
        problems.add(keys + ("stale_days",), "expected at least 1 day")
    return ContributionsSettings(
        github=github, api=api.rstrip("/"), token_env=token_env, tracking_title=title,
        stale_days=int(stale_days),
        launchpad=str_list(problems, keys + ("launchpad",), body.get("launchpad", [])),
    )


def _feeds(problems: Problems, value: Any) -> tuple[tuple[str, ...], ...]:
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

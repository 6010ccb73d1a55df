"""`ouhub samples import`: restore each sample dump once into a template database.

The template is named from the sample and the dump's checksum
(``ouhub_tpl_<sample>_<sha12>``), so an unchanged dump is not restored again and
a changed one makes a new template (the old one is dropped afterwards). A dump is
restored into a temporary database first and renamed only when the restore
succeeded and the result looks like an OpenERP database: a corrupt or truncated
dump leaves no half-built template.

A dump given as an http(s) URL is fetched into the data dir first, and fetched
again only when the server says it changed (ETag / Last-Modified), under the
sample's lock: the runs of a worker, or workers sharing a host, never fetch or
restore the same dump twice at once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import secrets
import shutil
import tarfile
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ouhub.config import Config, Sample
from ouhub.errors import OuhubError, RunnerError
from ouhub.fsutil import FileLock
from ouhub.pgcluster import find_pg_program
from ouhub.records import SampleTemplate
from ouhub.redact import redact_dsn
from ouhub.runner.pg import (
    MAX_NAME,
    Databases,
    database_exists,
    module_rows,
    pg_env,
    safe_part,
    server_params,
)
from ouhub.runner.plaindump import MetaCommandError, PlainDumpGuard, psql_restricts
from ouhub.runner.proc import run_command
from ouhub.runner.spare import choose_strategy, drop_stale, make_spare
from ouhub.store import Store, utcnow

log = logging.getLogger(__name__)

PLAIN_END = b"PostgreSQL database dump complete"
RESTRICTED = "backslash commands are restricted"  # what a restricted psql says
FETCH_TIMEOUT = (10, 300)  # seconds to connect, and between two reads of a dump being fetched


@dataclass(frozen=True)
class ImportResult:
    sample: str
    status: str  # imported, unchanged, failed
    template: str | None = None
    dropped: str | None = None  # the previous template, when the dump changed
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dump_format(path: Path) -> str:
    """custom (pg_dump -Fc), gzip (.sql.gz) or plain (.sql), from the file's first bytes."""
    with path.open("rb") as fh:
        head = fh.read(5)
    if head.startswith(b"PGDMP"):
        return "custom"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    return "plain"


def checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def template_name(sample: str, sha: str) -> str:
    """``ouhub_tpl_<sample>_<sha12>``; a sample name too long to fit is cut and followed by a
    digest of the whole name, so two samples never share a template."""
    tail = f"_{sha[:12]}"
    room = MAX_NAME - len("ouhub_tpl_") - len(tail)
    part = safe_part(sample, len(sample))
    if len(part) > room:
        part = part[:room - 9] + "_" + hashlib.sha256(sample.encode()).hexdigest()[:8]
    return "ouhub_tpl_" + part + tail


@contextmanager
def _sample_lock(config: Config, sample: Sample) -> Iterator[None]:
    """One import of a sample at a time per data dir (an flock: released if ouhub dies)."""
    path = samples_dir(config) / f"{sample.name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path, wait=True):  # a second import waits, then finds it unchanged
        yield


def samples_dir(config: Config) -> Path:
    return config.data_dir / "samples"


def import_samples(
    config: Config, store: Store, names: list[str] | None = None
) -> list[ImportResult]:
    """Import the named samples (all when None); one failing sample does not stop the others.
    The samples stage's entry point, which records its stage event."""
    samples = [config.sample(n) for n in names] if names else list(config.samples)
    results = []
    with store.stage_event("samples") as event:
        for sample in samples:
            try:
                results.append(import_sample(config, store, sample))
            except OuhubError as exc:
                log.error("sample %s: %s", sample.name, exc.message)
                results.append(ImportResult(sample.name, "failed", message=exc.message))
        failed = sum(r.status == "failed" for r in results)
        event.finish(not failed, samples=len(results),
                     imported=sum(r.status == "imported" for r in results), failed=failed)
    return results


def fetch_dump(config: Config, sample: Sample) -> Path:
    """The sample's dump on this host: its path, or the copy of its URL, fetched when changed."""
    if sample.url is None:
        return sample.dump
    with _sample_lock(config, sample):
        return _fetch(sample)


def _fetch(sample: Sample) -> Path:
    import requests

    shown = redact_dsn(sample.url or "")
    meta_path = sample.dump.with_name(sample.dump.name + ".json")
    headers = {}
    if sample.dump.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("url") == shown:  # kept redacted: the same dump, whatever its password
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
    part = sample.dump.with_name(sample.dump.name + ".part")
    sample.dump.parent.mkdir(parents=True, exist_ok=True)
    try:
        with requests.get(sample.url, headers=headers, stream=True, timeout=FETCH_TIMEOUT) as got:
            if got.status_code == 304:
                return sample.dump
            if got.status_code != 200:
                raise RunnerError(f"sample {sample.name}: fetching the dump {shown} answered "
                                  f"HTTP {got.status_code}",
                                  hint="check `dump` in the sample's [[samples]] table")
            with part.open("wb") as fh:
                for chunk in got.iter_content(1 << 20):
                    fh.write(chunk)
            expected = got.headers.get("Content-Length")
            if expected is not None and part.stat().st_size != int(expected):
                raise RunnerError(f"sample {sample.name}: the dump {shown} arrived cut "
                                  f"({part.stat().st_size} of {expected} bytes)",
                                  hint="fetch it again (the next import retries)")
            os.replace(part, sample.dump)
            meta_path.write_text(json.dumps({
                "url": shown, "etag": got.headers.get("ETag"),
                "last_modified": got.headers.get("Last-Modified"),
            }), encoding="utf-8")
    except requests.RequestException as exc:
        raise RunnerError(f"sample {sample.name}: cannot fetch the dump {shown}: "
                          f"{redact_dsn(str(exc))}",
                          hint="check the URL and that this host reaches it") from exc
    finally:
        part.unlink(missing_ok=True)
    log.info("sample %s: fetched %s", sample.name, shown)
    return sample.dump


def import_sample(
    config: Config, store: Store, sample: Sample, expected: str | None = None
) -> ImportResult:
    """Restore the sample's dump into its template, unless the template is up to date.

    ``expected``: the checksum a worker's task names; another dump here is an error.
    """
    with _sample_lock(config, sample):
        if sample.url is not None:
            _fetch(sample)
        if not sample.dump.is_file():
            raise RunnerError(f"sample {sample.name}: dump {sample.dump} does not exist",
                              hint="fix `dump` in the sample's [[samples]] table")
        if sample.filestore is not None and not sample.filestore.exists():
            raise RunnerError(f"sample {sample.name}: filestore {sample.filestore} does not "
                              "exist",
                              hint="fix or remove `filestore` in the sample's [[samples]] table")
        result = _import_locked(config, store, sample, expected)
    return _with_spare(config, store, result)


def _with_spare(config: Config, store: Store, result: ImportResult) -> ImportResult:
    """After an import, the template's spare clone for the next run (spare.py): a new
    template's made while timing both clone strategies, else made when missing. No spare
    only makes the next run's start slower: a failure here is a warning."""
    template = store.sample_template(result.sample)
    if template is None:
        return result
    try:
        drop_stale(Databases(store, config.dsn), store)  # an old template's, say
        if result.status == "imported":
            measured = choose_strategy(config, store, template)
            if measured:
                return replace(result, message=f"clones by {measured}")
        else:
            make_spare(config, store, template)
    except OuhubError as exc:
        log.warning("sample %s: no spare clone made: %s", result.sample, exc.message)
    return result


def _import_locked(
    config: Config, store: Store, sample: Sample, expected: str | None
) -> ImportResult:
    dbs = Databases(store, config.dsn)
    sha = checksum(sample.dump)
    if expected is not None and sha != expected:
        raise RunnerError(
            f"sample {sample.name}: the dump {redact_dsn(sample.url or str(sample.dump))} is "
            f"{sha[:12]}, the run was asked for {expected[:12]}: the dump changed since the "
            "coordinator read it, or this host reads another file",
            hint="give every host the same dump (a shared path or an http(s) URL), then run "
            "again",
        )
    name = template_name(sample.name, sha)
    current = store.sample_template(sample.name)
    if (current and current.dbname == name and database_exists(config.dsn, name)
            and store.database_record(name) and not store.database_record(name).dropped_at):
        return ImportResult(sample.name, "unchanged", template=name)
    if database_exists(config.dsn, name):
        rec = store.database_record(name)
        if rec is None or rec.dropped_at:
            raise RunnerError(
                f"sample {sample.name}: database {name} exists but ouhub did not record it",
                hint=f"drop it yourself (dropdb {name}) if it is a leftover, then import again",
            )
        dbs.drop(name)  # ours, but not the recorded template: rebuild it cleanly

    temporary = dbs.new_name("tmp", sample.name)
    dbs.create(temporary, "restore")
    try:
        _restore(config, sample, temporary)
        rows = module_rows(config.dsn, temporary)
        if "base" not in rows:
            raise RunnerError(f"sample {sample.name}: {sample.dump} restored without a `base` "
                              "module in ir_module_module",
                              hint="the dump must be of an OpenERP/Odoo database")
        filestore = _keep_filestore(config, sample, name)
        dbs.rename(temporary, name, "template")
    except BaseException:
        dbs.drop(temporary)
        shutil.rmtree(samples_dir(config) / name, ignore_errors=True)
        raise
    store.set_sample_template(SampleTemplate(
        sample=sample.name, release=sample.release, dbname=name, checksum=sha,
        dump=str(sample.dump), filestore=str(filestore) if filestore else None,
        imported_at=utcnow(),
    ))
    dropped = None
    shared = {t.dbname for t in store.sample_templates() if t.sample != sample.name}
    if current and current.dbname != name and current.dbname not in shared:
        rec = store.database_record(current.dbname)
        if rec and not rec.dropped_at:
            dbs.drop(current.dbname)
            dropped = current.dbname
        shutil.rmtree(samples_dir(config) / current.dbname, ignore_errors=True)
    log.info("sample %s: imported into %s", sample.name, name)
    return ImportResult(sample.name, "imported", template=name, dropped=dropped)


def _program(name: str) -> str:
    found = find_pg_program(name)
    if not found:
        raise RunnerError(f"{name} is not installed",
                          hint="install the PostgreSQL client programs (postgresql-client)")
    return found


def _restore(config: Config, sample: Sample, dbname: str) -> None:
    fmt = dump_format(sample.dump)
    env = pg_env(config.dsn)
    secret = [server_params(config.dsn)["password"]]
    where = f"sample {sample.name}: restoring {sample.dump} ({fmt} dump)"
    log_path = samples_dir(config) / f"{dbname}.restore.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "custom":
        result = run_command(
            [_program("pg_restore"), "--exit-on-error", "--no-owner", "--no-privileges",
             "-d", dbname, str(sample.dump)],
            env=env, secrets=secret, log_file=log_path, what="restore",
        )
        _check(result.returncode, where, log_path)
        return
    _restore_sql(sample, fmt, dbname, env, secret, where, log_path)


def _restore_sql(
    sample: Sample, fmt: str, dbname: str, env: dict[str, str], secret: list[str], where: str,
    log_path: Path,
) -> None:
    """Stream a plain (or gzipped) dump into psql through the meta-command guard.

    psql starts in restricted mode under a key only ouhub knows, so no backslash
    command runs even where the line guard cannot see one (in the middle of a line).
    """
    psql = _program("psql")
    version = run_command([psql, "--version"], what="version").output.strip()
    if not psql_restricts(version):
        raise RunnerError(
            f"{where}: {psql} ({version}) has no restricted mode, so it cannot be kept from "
            "running psql meta-commands that a dump holds",
            hint="install a newer postgresql-client (13.22, 14.19, 15.14, 16.10, 17.6 or "
            "later), or give a custom-format dump (pg_dump -Fc)",
        )
    guard = PlainDumpGuard()
    tail: deque[bytes] = deque(maxlen=16)
    problem: list[BaseException] = []
    read_fd, write_fd = os.pipe()
    opener = gzip.open if fmt == "gzip" else open

    def feed() -> None:
        try:
            with opener(sample.dump, "rb") as src, os.fdopen(write_fd, "wb") as sink:
                sink.write(b"\\restrict " + secrets.token_hex(16).encode() + b"\n")
                for piece in iter(lambda: src.readline(1 << 20), b""):
                    tail.append(piece)
                    sink.write(guard.feed(piece))
        except BrokenPipeError:
            pass  # psql stopped reading: its exit code and log say why
        except (MetaCommandError, OSError, EOFError) as exc:
            problem.append(exc)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    with os.fdopen(read_fd, "rb") as stdin:
        result = run_command(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", dbname],
            env=env, stdin=stdin, secrets=secret, log_file=log_path, what="restore",
        )
    writer.join()
    if problem and isinstance(problem[0], MetaCommandError):
        refused = problem[0]
        raise RunnerError(f"{where} refused: {refused.message}", hint=refused.hint)
    if problem:
        raise RunnerError(f"{where} failed: the gzip file is corrupt or truncated "
                          f"({problem[0]})",
                          hint="make the dump again: pg_dump DB | gzip > FILE.sql.gz")
    if result.returncode != 0 and RESTRICTED in log_path.read_text(errors="replace"):
        raise RunnerError(
            f"{where} refused: the dump holds a psql meta-command inside a line, which ouhub "
            f"refuses to run (psql: {RESTRICTED})",
            hint="a dump made by pg_dump holds none: make it again with pg_dump, or give a "
            "custom-format dump (pg_dump -Fc)",
        )
    _check(result.returncode, where, log_path)
    _check_complete_plain(sample, b"".join(tail)[-4096:])


def _check_complete_plain(sample: Sample, tail: bytes) -> None:
    # pg_dump ends a plain dump with this line; psql silently stops at a truncated one.
    if PLAIN_END not in tail:
        raise RunnerError(
            f"sample {sample.name}: {sample.dump} looks truncated (no '-- {PLAIN_END.decode()}' "
            "line at its end)",
            hint="make the dump again with pg_dump and check the disk was not full",
        )


def _check(returncode: int | None, where: str, log_path: Path) -> None:
    if returncode == 0:
        return
    lines = log_path.read_text(errors="replace").strip().splitlines()
    detail = "; ".join(line for line in lines if "error" in line.lower())[-600:] or (
        "\n".join(lines[-5:]))
    raise RunnerError(
        f"{where} failed (exit {returncode}): {detail or 'no output'}",
        hint=f"the dump is corrupt or truncated; make it again (full log: {log_path})",
    )


def _keep_filestore(config: Config, sample: Sample, template: str) -> Path | None:
    """Copy (or unpack) the sample's filestore beside its template, for the runs to copy."""
    if sample.filestore is None:
        return None
    dest = samples_dir(config) / template / "filestore"
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if sample.filestore.is_dir():
        shutil.copytree(sample.filestore, dest)
        return dest
    try:
        with tarfile.open(sample.filestore) as tar:
            tar.extractall(dest, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise RunnerError(f"sample {sample.name}: cannot unpack filestore {sample.filestore}: "
                          f"{exc}", hint="give a directory or a tar/tar.gz archive") from exc
    return dest

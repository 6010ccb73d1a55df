"""What travels through the broker: a run's task (coordinator -> worker) and its record (back).

Both are plain JSON data, never pickled objects or code: a task names a release and
a sample, and the worker runs its own config's command for that release. Both are
checked field by field on arrival (``from_dict``), so a malformed message is a clear
error naming the field, not a crash deep inside a run. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ouhub.errors import RunnerError
from ouhub.records import Fingerprint
from ouhub.runner.outcome import ModuleOutcome
from ouhub.vocab import OUTCOMES, RUN_STATUSES

TASK_FORMAT = 1  # bumped when a field changes meaning: a worker refuses formats it does not know
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PayloadError(RunnerError):
    """A task or a run record that is not of the expected shape."""


@dataclass(frozen=True)
class RunTask:
    """One run to do: the step, the sample (by name and dump checksum), the revisions.

    Nothing host-specific: each worker finds the sample's dump, the branches and the
    upgrade command in its own config.
    """

    run_id: int  # assigned by the coordinator: the record is stored under it, once
    release: str
    previous: str
    sample: str
    checksum: str  # sha256 of the sample's dump, as the coordinator read it
    revisions: dict[str, str]  # branch -> revision id the coordinator synced
    timeout: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": TASK_FORMAT, "run_id": self.run_id, "release": self.release,
            "previous": self.previous, "sample": self.sample, "checksum": self.checksum,
            "revisions": dict(self.revisions), "timeout": self.timeout,
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunTask:
        fields = _Fields("task", data)
        if fields.get("format", int) != TASK_FORMAT:
            raise PayloadError(
                f"task format {data.get('format')!r} is not {TASK_FORMAT}",
                hint="run the same ouhub version on the coordinator and the workers",
            )
        checksum = fields.get("checksum", str)
        if not _SHA256.fullmatch(checksum):
            raise PayloadError(f"task field checksum: expected a sha256 in hex, got {checksum!r}")
        timeout = fields.number("timeout")
        if timeout <= 0:
            raise PayloadError(f"task field timeout: expected a positive number, got {timeout!r}")
        return cls(
            run_id=fields.get("run_id", int), release=fields.get("release", str),
            previous=fields.get("previous", str), sample=fields.get("sample", str),
            checksum=checksum, revisions=fields.str_dict("revisions"), timeout=timeout,
        )


@dataclass(frozen=True)
class RunRecord:
    """What a worker sends back: the run's status, outcomes, evidence and where it ran."""

    run_id: int
    release: str
    previous: str
    sample: str
    status: str  # passed, failed, timeout, error
    message: str
    duration: float
    command_seconds: float | None
    exit_code: int | None
    host: str  # the worker's host
    worker: str  # the worker's name (Celery node name)
    revisions: dict[str, str]  # branch -> "revno (revid)" of the worker's mirrors
    modules: tuple[ModuleOutcome, ...] = ()
    log: str = ""  # the upgrade log, capped to [runner] log_limit (head and tail kept)
    losses: int = 0  # workers lost while running it before this record

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "release": self.release, "previous": self.previous,
            "sample": self.sample, "status": self.status, "message": self.message,
            "duration": self.duration, "command_seconds": self.command_seconds,
            "exit_code": self.exit_code, "host": self.host, "worker": self.worker,
            "revisions": dict(self.revisions), "log": self.log, "losses": self.losses,
            "modules": [m.as_dict() for m in self.modules],
        }

    @classmethod
    def from_dict(cls, data: Any) -> RunRecord:
        fields = _Fields("run record", data)
        status = fields.get("status", str)
        if status not in RUN_STATUSES:
            raise PayloadError(f"run record field status: {status!r} is not one of "
                               + ", ".join(RUN_STATUSES))
        command_seconds = fields.get("command_seconds", (int, float), optional=True)
        return cls(
            run_id=fields.get("run_id", int), release=fields.get("release", str),
            previous=fields.get("previous", str), sample=fields.get("sample", str),
            status=status, message=fields.get("message", str),
            duration=fields.number("duration"),
            command_seconds=None if command_seconds is None else float(command_seconds),
            exit_code=fields.get("exit_code", int, optional=True),
            host=fields.get("host", str), worker=fields.get("worker", str),
            revisions=fields.str_dict("revisions"),
            modules=tuple(_module(i, m) for i, m in enumerate(fields.get("modules", list))),
            log=fields.get("log", str), losses=fields.get("losses", int),
        )


def _module(index: int, data: Any) -> ModuleOutcome:
    fields = _Fields(f"run record modules[{index}]", data)
    outcome = fields.get("outcome", str)
    if outcome not in OUTCOMES:
        raise PayloadError(f"run record modules[{index}] field outcome: {outcome!r} is not one "
                           "of " + ", ".join(OUTCOMES))
    scripts = fields.get("scripts", list)
    if not all(isinstance(s, str) for s in scripts):
        raise PayloadError(f"run record modules[{index}] field scripts: expected strings")
    found = fields.get("fingerprint", dict, optional=True)
    fingerprint = None
    if found is not None:
        parts = _Fields(f"run record modules[{index}].fingerprint", found)
        fingerprint = Fingerprint(
            module=parts.get("module", str), stage=parts.get("stage", str),
            exception=parts.get("exception", str), message=parts.get("message", str))
    return ModuleOutcome(
        module=fields.get("module", str), outcome=outcome,
        version_before=fields.get("version_before", str, optional=True),
        version_after=fields.get("version_after", str, optional=True),
        scripts=tuple(scripts), excerpt=fields.get("excerpt", str), why=fields.get("why", str),
        fingerprint=fingerprint,
    )


class _Fields:
    """Typed reads from a decoded JSON object; each mistake names the message and the field."""

    def __init__(self, what: str, data: Any):
        if not isinstance(data, Mapping):
            raise PayloadError(f"{what}: expected a JSON object, got {type(data).__name__}",
                               hint="the message was not sent by ouhub; check who else uses "
                               "the queue")
        self.what = what
        self.data = data

    def get(self, key: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        if key not in self.data:
            raise PayloadError(f"{self.what}: field {key} is missing")
        value = self.data[key]
        if value is None and optional:
            return None
        # bool is an int to Python, never to us
        if isinstance(value, bool) or not isinstance(value, kind):
            names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            raise PayloadError(f"{self.what} field {key}: expected {names}, got {value!r}"[:300])
        return value

    def number(self, key: str) -> float:
        value = float(self.get(key, (int, float)))
        if not math.isfinite(value):
            raise PayloadError(f"{self.what} field {key}: expected a finite number")
        return value

    def str_dict(self, key: str) -> dict[str, str]:
        value = self.get(key, dict)
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise PayloadError(f"{self.what} field {key}: expected an object of strings")
        return dict(value)

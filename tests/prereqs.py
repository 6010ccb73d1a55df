"""Install what the test suite needs on a fresh machine (run by `make test` before pytest).

PostgreSQL: nothing to do when $OUHUB_TEST_DSN is set or a server answers on
127.0.0.1:5432; else initdb/pg_ctl must exist for a throwaway cluster, installed
from Debian's packages when absent. Chromium for the site's browser tests likewise.
RabbitMQ (the workers' broker): nothing to do when one answers at $OUHUB_TEST_BROKER
(default amqp://guest:guest@127.0.0.1:5672//); else Debian's rabbitmq-server is
installed when absent and started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from ouhub import pgcluster

_apt_updated = False


def apt_install(*packages: str) -> None:
    global _apt_updated
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        sys.exit(f"tests need {' '.join(packages)}: install them (apt-get install ...) and rerun")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if not _apt_updated:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        _apt_updated = True
    print(f"prereqs: installing {' '.join(packages)}", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def main(argv: list[str]) -> None:
    """`python -m tests.prereqs` for the tests; `... postgres` for the demo (no browser)."""
    if not (os.environ.get("OUHUB_TEST_DSN")
            or pgcluster.reachable("postgresql://postgres@127.0.0.1:5432/postgres")):
        print("prereqs: no PostgreSQL on 127.0.0.1:5432; tests will start a throwaway cluster")
    if not pgcluster.find_pg_program("initdb") or not shutil.which("pg_restore"):
        apt_install("postgresql", "postgresql-client")
    if not shutil.which("git"):  # git mirrors are made and read with the git program
        apt_install("git")
    if "postgres" in argv:
        return
    ensure_rabbitmq()
    if not (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")):
        apt_install("chromium", "chromium-driver")


def broker_answers(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:  # refused, reset, timed out, refused login: not usable
        return False


def ensure_rabbitmq() -> None:
    """A RabbitMQ for the worker tests: the one answering, else Debian's, started here."""
    from tests.support.broker import TEST_BROKER

    if broker_answers(TEST_BROKER):
        return
    if os.environ.get("OUHUB_TEST_BROKER"):
        sys.exit("tests need the RabbitMQ at $OUHUB_TEST_BROKER, which does not answer")
    if not shutil.which("rabbitmq-server"):
        apt_install("rabbitmq-server")
    print("prereqs: starting rabbitmq-server", flush=True)
    # -detached: no init system needed (containers, CI); the node outlives this script
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    deadline = time.monotonic() + 90
    while not broker_answers(TEST_BROKER):
        if time.monotonic() > deadline:
            sys.exit("prereqs: rabbitmq-server did not answer on 127.0.0.1:5672 within 90 s; "
                     "see /var/log/rabbitmq/")
        time.sleep(1)


if __name__ == "__main__":
    main(sys.argv[1:])

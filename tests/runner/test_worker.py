"""The Celery side against the real RabbitMQ: the broker checks, a worker's answers."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner

from ouhub.cli import main
from ouhub.errors import RunnerError
from ouhub.runner.worker import check_broker, make_app
from tests.support.broker import TEST_BROKER
from tests.support.config import write_config


@pytest.mark.parametrize("url, expected", [
    ("amqp://ouhub:s3cret-pw@127.0.0.1:1//", "cannot reach the broker amqp://ouhub:***@127.0.0.1:1//"),
    (TEST_BROKER.replace("guest:guest@", "guest:s3cret-pw@"),
     "cannot reach the broker amqp://guest:***@127.0.0.1:5672//"),
])
@pytest.mark.timeout(60)  # a hang guard, not a speed check: Celery's default retries forever
def test_a_broker_that_is_down_or_refuses_us_is_a_clear_error_at_once(url, expected):
    with pytest.raises(RunnerError) as info:
        check_broker(make_app(url, f"ouhub-test-{uuid.uuid4().hex[:8]}"), url)
    assert info.value.message.startswith(expected)
    assert "s3cret-pw" not in info.value.message and "rabbitmq" in info.value.hint.lower()


def test_a_worker_without_a_broker_shows_a_broker_url_to_copy(tmp_path):
    # the hint reaches the terminal through the redaction of URLs: a password in it would
    # read `***`, which a user would copy
    config = write_config(tmp_path, {"7.0": {"server": "/srv/x"}})
    result = CliRunner().invoke(main, ["--config", str(config), "worker"])
    assert result.exit_code == 2  # a config mistake (README's Commands)
    assert "no broker configured" in result.stderr
    hint = result.stderr.partition("hint: ")[2]
    assert "[runner] broker" in hint and "amqp://" in hint and "***" not in hint

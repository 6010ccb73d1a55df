"""The Celery side against the real RabbitMQ: the broker checks, a worker's answers."""

from __future__ import annotations

import time
import uuid

import pytest

from ouhub.errors import RunnerError
from ouhub.runner.worker import check_broker, make_app
from tests.support.broker import TEST_BROKER


@pytest.mark.parametrize("url, expected", [
    ("amqp://ouhub:s3cret-pw@127.0.0.1:1//", "cannot reach the broker amqp://ouhub:***@127.0.0.1:1//"),
    (TEST_BROKER.replace("guest:guest@", "guest:s3cret-pw@"),
     "cannot reach the broker amqp://guest:***@127.0.0.1:5672//"),
])
def test_a_broker_that_is_down_or_refuses_us_is_a_clear_error_at_once(url, expected):
    started = time.monotonic()
    with pytest.raises(RunnerError) as info:
        check_broker(make_app(url, f"ouhub-test-{uuid.uuid4().hex[:8]}"), url)
    assert time.monotonic() - started < 15  # short connection timeouts, no hang
    assert info.value.message.startswith(expected)
    assert "s3cret-pw" not in info.value.message and "rabbitmq" in info.value.hint.lower()


"""The RabbitMQ the worker tests use, and helpers to run real `ouhub worker` processes."""

from __future__ import annotations

import os

TEST_BROKER = os.environ.get("OUHUB_TEST_BROKER", "amqp://guest:guest@127.0.0.1:5672//")

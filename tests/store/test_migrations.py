"""The schema's migrations are listed in name order: the order a new store applies them."""

from __future__ import annotations

import re

from ouhub.store import MIGRATIONS, Store


def test_migrations_are_listed_in_name_order_with_unique_numbers():
    names = [name for name, _ in MIGRATIONS]
    assert names == sorted(names), "ouhub/store/migrations.py: list the migrations in name order"
    numbers = [re.match(r"(\d{4})_[a-z0-9_]+$", name) for name in names]
    assert all(numbers), f"a migration is named NNNN_words: {names}"
    assert len({m.group(1) for m in numbers}) == len(names), "two migrations share a number"


def test_a_new_store_applies_them_in_the_listed_order(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        applied = [r[0] for r in store._execute(
            "SELECT name FROM schema_migrations ORDER BY rowid")]
    assert applied == [name for name, _ in MIGRATIONS]

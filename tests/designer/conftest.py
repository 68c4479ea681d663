"""Fixtures of the designer tests: a designer user in the deployed test database."""

from __future__ import annotations

import pytest

from engine.store.db import Database
from tests.conftest import make_user


@pytest.fixture
def designer(deployed: Database) -> str:
    """A user holding the designer role in the deployed database."""
    return make_user(deployed, "dz", "designer")

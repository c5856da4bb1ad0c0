from __future__ import annotations

import pytest

from linli.core.testing import Cast, make_cast


@pytest.fixture
def cast(db: None) -> Cast:
    return make_cast()

from __future__ import annotations

import pytest


@pytest.fixture
def fast_hashing(settings: object) -> None:
    # Six argon2 hashes per seed add up over the runs a determinism test makes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # type: ignore[attr-defined]

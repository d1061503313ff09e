from __future__ import annotations

import pytest

from tests.lambda_code import load


@pytest.fixture(scope="session")
def handler_module():
    return load("event_transform")

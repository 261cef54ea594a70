"""Fixtures for the Python client against offshootd on another host: these tests run only
inside tests/remote/ssh-host.sh (ctest's remote.Python), which sets OFFSHOOT_TEST_SSH_HOST,
_UID and _OTHER and puts its ssh (with the test's keys) first on PATH."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run these tests through tests/remote/ssh-host.sh")
    return value


@pytest.fixture
def host():
    return _env("OFFSHOOT_TEST_SSH_HOST")


@pytest.fixture
def other_host():
    return _env("OFFSHOOT_TEST_SSH_OTHER")


@pytest.fixture
def login_uid():
    return int(_env("OFFSHOOT_TEST_SSH_UID"))

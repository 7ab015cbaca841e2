"""Starts real `archil-mock` processes for the official-client suites.

The binary comes from $ARCHIL_MOCK_BIN (`make python-test` sets it). Each
server listens on a free port (`--port 0`); its URL is read from the first line
it prints. Stopping sends SIGTERM and requires a clean exit (status 0), so a
server that crashes or hangs on shutdown fails the test that used it.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
from typing import Callable, Iterator

import pytest

_LISTENING = re.compile(r"^archil-mock listening on (http://[^\s/]+:(\d+))$")
_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 10.0


class MockServer:
    """One running archil-mock process."""

    def __init__(self, args: list[str]) -> None:
        binary = os.environ.get("ARCHIL_MOCK_BIN")
        if not binary:
            pytest.fail(
                "ARCHIL_MOCK_BIN is not set: point it at a built archil-mock binary "
                "(`make python-test` builds target/debug/archil-mock and sets it)",
                pytrace=False,
            )
        if not os.access(binary, os.X_OK):
            pytest.fail(f"ARCHIL_MOCK_BIN={binary!r} is not an executable file", pytrace=False)
        self.args = [binary, "--port", "0", "--quiet", *args]
        # stderr is inherited, so pytest's fd capture shows the server's
        # warnings next to a failing test.
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        first = self._first_line()
        match = _LISTENING.match(first)
        if not match:
            self._kill()
            pytest.fail(f"archil-mock's first stdout line is not its address: {first!r}")
        self.url: str = match.group(1)
        self.port: int = int(match.group(2))

    def _first_line(self) -> str:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=_START_TIMEOUT):
                self._kill()
                pytest.fail(f"archil-mock printed nothing within {_START_TIMEOUT}s: {self.args}")
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(timeout=_STOP_TIMEOUT)
            pytest.fail(f"archil-mock exited with status {code} before listening: {self.args}")
        return line.rstrip("\n")

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int:
        """SIGTERM, wait, and return the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._kill()
                pytest.fail(f"archil-mock did not stop within {_STOP_TIMEOUT}s of SIGTERM")
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return self.proc.returncode


def _stop_cleanly(servers: list[MockServer]) -> None:
    failures = []
    for server in servers:
        code = server.stop()
        if code != 0:
            failures.append(f"{server.url} exited with status {code}")
    assert not failures, "; ".join(failures)


@pytest.fixture
def start_mock() -> Iterator[Callable[..., MockServer]]:
    """A factory for fresh servers, private to one test: ``start_mock("--api-key",
    "alice=key-...")``. Every server it started is stopped after the test and
    must exit 0."""
    servers: list[MockServer] = []

    def start(*args: str) -> MockServer:
        server = MockServer(list(args))
        servers.append(server)
        return server

    yield start
    _stop_cleanly(servers)


@pytest.fixture(scope="module")
def module_mock() -> Iterator[MockServer]:
    """One server with the built-in key, shared by a module's tests that do not
    depend on what other tests stored."""
    server = MockServer([])
    yield server
    _stop_cleanly([server])


@pytest.fixture(scope="module")
def mock_url(module_mock: MockServer) -> str:
    """The shared server's base URL, e.g. ``http://127.0.0.1:41234``."""
    return module_mock.url


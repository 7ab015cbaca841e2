"""The official SDK's exec calls against the real back ends (`--exec bwrap`
and `--exec docker`), unmodified: commands really run over the disk's files
and what they write comes back through the gateway.

Where a back end is missing the test is skipped with the reason; CI sets
ARCHIL_MOCK_REQUIRE_BWRAP=1 and ARCHIL_MOCK_REQUIRE_DOCKER=1, which make
a missing back end a failure instead."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from contextlib import contextmanager
from typing import Iterator

import pytest
from archil import Archil, ExecMountSpec

KEY = "key-archil-mock"
IMAGE = "archil-mock-exec:local"


def available(backend: str) -> str | None:
    """None if the back end can run here, else why not."""
    if backend == "bwrap":
        if not shutil.which("bwrap"):
            return "bubblewrap is not installed"
        probe = subprocess.run(
            ["bwrap", "--unshare-all", "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",
             "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "/bin/true"],
            capture_output=True, text=True,
        )
        return None if probe.returncode == 0 else f"bwrap cannot make a sandbox: {probe.stderr.strip()}"
    if not shutil.which("docker"):
        return "no docker CLI"
    probe = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, text=True)
    return None if probe.returncode == 0 else f"no Docker engine with {IMAGE} (make exec-image)"


@pytest.fixture(params=["bwrap", "docker"])
def backend(request) -> str:
    name = request.param
    reason = available(name)
    if reason:
        if os.environ.get(f"ARCHIL_MOCK_REQUIRE_{name.upper()}") == "1":
            pytest.fail(f"ARCHIL_MOCK_REQUIRE_{name.upper()}=1, but {reason}")
        pytest.skip(reason)
    return name


@contextmanager
def sdk(url: str) -> Iterator[Archil]:
    with Archil(api_key=KEY, region="aws-us-east-1", base_url=url) as client:
        yield client


def test_disk_exec_runs_over_the_disk_and_writes_back(start_mock, backend):
    server = start_mock("--exec", backend, "--exec-timeout", "20")
    with sdk(server.url) as client:
        disk = client.disks.create(name=f"real-{backend}").disk
        disk.put_object("in/data.txt", b"3\n1\n2\n")
        result = disk.exec("cd /mnt && mkdir -p out && sort -n in/data.txt | tee out/sorted.txt")
        assert result.exit_code == 0, result.stderr
        assert result.stdout == "1\n2\n3\n"
        assert disk.get_object("out/sorted.txt") == b"1\n2\n3\n"
        failed = disk.exec("echo oops >&2; exit 7")
        assert (failed.exit_code, failed.stderr) == (7, "oops\n")
        assert failed.timing.total_ms >= failed.timing.queue_ms + failed.timing.execute_ms
        # The agent tool sends `cd /mnt && …` and reads back what it wrote.
        run_bash = {t.name: t for t in disk.agent_tools().tools}["run_bash"]
        out = asyncio.run(run_bash.invoke({"command": "echo tool > tool.txt && ls"}))
        assert out.startswith("exit code: 0\nstdout:\n") and "tool.txt" in out, out
        assert disk.get_object("tool.txt") == b"tool\n"


def test_multi_disk_exec_and_a_workspace_mount_as_asked(start_mock, backend):
    server = start_mock("--exec", backend, "--exec-timeout", "20")
    with sdk(server.url) as client:
        src = client.disks.create(name=f"src-{backend}").disk
        dst = client.disks.create(name=f"dst-{backend}").disk
        src.put_object("lib/a.txt", b"alpha\n")
        dst.put_object("keep/", b"")
        result = client.exec(
            disks={"src": ExecMountSpec(disk=src, read_only=True), "out": ExecMountSpec(disk=dst, subdirectory="keep")},
            command="cat /mnt/archil/src/lib/a.txt > /mnt/archil/out/copy.txt; touch /mnt/archil/src/x; echo $?",
        )
        assert result.stdout.strip() == "1", result
        assert "Read-only file system" in result.stderr
        assert dst.get_object("keep/copy.txt") == b"alpha\n"
        assert src.head_object("x") is None
        ws = client.workspace({"s": src, "d": dst})
        listed = ws.exec("cd /mnt/archil && ls s/lib d/keep")
        assert listed.exit_code == 0 and "a.txt" in listed.stdout and "copy.txt" in listed.stdout, listed

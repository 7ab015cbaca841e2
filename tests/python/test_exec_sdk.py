"""The official Python SDK (`archil` on PyPI) and the generated client
(`archil-openapi`), unmodified, against archil-mock's exec: `disk.exec`,
`Archil.exec` with disks, ids and `ExecMountSpec`s, the module-level
`archil.exec` / `archil.workspace`, a workspace's `exec`, the agent tools'
`run_bash` on a disk (`cd /mnt && …`) and on a workspace
(`cd /mnt/archil && …`), 504 timeouts and 404s as `ArchilApiError`, and the
generated `exec_disk` / `exec_` with `raise_on_unexpected_status=True` and the
default `Bearer` prefix.

Exec runs on the default `scripted` back end: rules come from a fixture's
`execRules` (written to tmp_path) or `POST /_mock/exec-rules`. The wire
contract is shared/contracts/exec-grep.md (A.0–A.2, B.1–B.5, C.1–C.4)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import archil
import httpx
import pytest
from archil import Archil, ExecMountSpec, ExecResult
from archil._models import ExecTiming
from archil.errors import ArchilApiError
from archil_openapi import AuthenticatedClient
from archil_openapi.api.disks import exec_, exec_disk
from archil_openapi.models import (
    ApiResponseExec,
    ApiResponseExecDisk,
    ErrorResponse,
    ExecDiskRequest,
    ExecDiskResult,
    ExecMount,
    ExecRequest,
    ExecRequestDisks,
    ExecTiming as GenExecTiming,
)

DEFAULT_KEY = "key-archil-mock"
REGION = "aws-us-east-1"
ALICE = "key-alice-python-exec-0001"
BOB = "key-bob-python-exec-0002"
A = "dsk-00000000000000e1"  # "alpha": old.txt, keep.txt
B = "dsk-00000000000000e2"  # "beta": app/logs/old.log, app/readme.md, notes.txt
UNKNOWN = "dsk-00000000000000ff"
TIMED_OUT = {"success": False, "error": "Command timed out", "code": "exec_timeout"}


# --- helpers ----------------------------------------------------------------


def fixture(tmp_path: Path, rules: list[dict], name: str = "fixture.json") -> str:
    """Writes a fixture with the two disks and `rules` as `execRules`."""
    body = {
        "accounts": [
            {
                "name": "default",
                "disks": [
                    {
                        "id": A,
                        "name": "alpha",
                        "files": [
                            {"key": "old.txt", "content": "old\n"},
                            {"key": "keep.txt", "content": "keep\n"},
                        ],
                    },
                    {
                        "id": B,
                        "name": "beta",
                        "files": [
                            {"key": "app/logs/old.log", "content": "stale\n"},
                            {"key": "app/readme.md", "content": "readme\n"},
                            {"key": "notes.txt", "content": "notes\n"},
                        ],
                    },
                ],
            }
        ],
        "execRules": rules,
    }
    path = tmp_path / name
    path.write_text(json.dumps(body))
    return str(path)


@contextmanager
def sdk(url: str, key: str = DEFAULT_KEY, **kwargs) -> Iterator[Archil]:
    with Archil(api_key=key, region=REGION, base_url=url, **kwargs) as client:
        yield client


def gen_client(url: str, key: str = DEFAULT_KEY) -> AuthenticatedClient:
    # The default prefix: `Authorization: Bearer key-…`.
    return AuthenticatedClient(base_url=url, token=key, raise_on_unexpected_status=True)


def add_rules(url: str, rules) -> list[str]:
    resp = httpx.post(f"{url}/_mock/exec-rules", json=rules)
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]["ids"]


def rules_of(url: str) -> list[dict]:
    resp = httpx.get(f"{url}/_mock/exec-rules")
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["rules"]


def exec_bodies(url: str) -> list[tuple[str, int, dict]]:
    """Every journaled exec request: (path, status, JSON body), oldest first."""
    resp = httpx.get(f"{url}/_mock/requests")
    assert resp.status_code == 200, resp.text
    out = []
    for entry in resp.json()["data"]["requests"]:
        if entry["path"] == "/api/exec" or entry["path"].endswith("/exec"):
            out.append((entry["path"], entry["status"], json.loads(entry["body"])))
    return out


def clear_journal(url: str) -> None:
    assert httpx.delete(f"{url}/_mock/requests").status_code == 200


def read(url: str, disk: str, key: str) -> Optional[bytes]:
    """A file through the gateway, or None on 404."""
    resp = httpx.get(f"{url}/{disk}/{key}", headers={"Authorization": DEFAULT_KEY})
    if resp.status_code == 404:
        return None
    assert resp.status_code == 200, resp.text
    return resp.content


def assert_timing(result: ExecResult, *, min_execute_ms: int = 0) -> None:
    timing = result.timing
    assert isinstance(timing, ExecTiming), repr(timing)
    for value in (timing.total_ms, timing.queue_ms, timing.execute_ms):
        assert isinstance(value, int) and not isinstance(value, bool) and value >= 0, timing
    assert timing.execute_ms >= min_execute_ms, timing
    assert timing.total_ms >= timing.queue_ms + timing.execute_ms, timing


def invoke(tool, args: dict) -> str:
    return asyncio.run(tool.invoke(args))


# --- disk.exec -------------------------------------------------------------


def test_disk_exec_returns_an_exec_result(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {
                    "command": "ls -la /mnt && cat /mnt/config.json",
                    "exitCode": 0,
                    "stdout": '{"debug": true}\n',
                    "stderr": "ls: warning\n",
                    "delayMs": 120,
                },
                {"commandContains": "pytest", "exitCode": 1, "stdout": "1 failed, 2 passed\n"},
            ],
        ),
    )
    with sdk(server.url) as client:
        disk = client.disks.get(A)
        result = disk.exec("ls -la /mnt && cat /mnt/config.json")
        assert isinstance(result, ExecResult)
        assert result.exit_code == 0
        assert result.stdout == '{"debug": true}\n'
        assert result.stderr == "ls: warning\n"
        assert_timing(result, min_execute_ms=120)

        # A non-zero exit is a result, not an error.
        failed = disk.exec("cd /mnt && pytest -q")
        assert (failed.exit_code, failed.stdout, failed.stderr) == (1, "1 failed, 2 passed\n", "")
        assert_timing(failed)

        # No rule: exit 127 and the hint, still a result.
        missing = disk.exec("make")
        assert missing.exit_code == 127
        assert missing.stdout == ""
        assert 'no exec rule matches "make"' in missing.stderr
        assert "/_mock/exec-rules" in missing.stderr
        assert missing.timing.execute_ms == 0

        # Async.
        again = asyncio.run(disk.exec.aio("ls -la /mnt && cat /mnt/config.json"))
        assert again.stdout == '{"debug": true}\n'

    # B.1: exactly {"command": cmd}.
    sent = exec_bodies(server.url)
    assert [(p, s) for p, s, _ in sent] == [(f"/api/disks/{A}/exec", 200)] * 4
    assert sent[0][2] == {"command": "ls -la /mnt && cat /mnt/config.json"}
    assert sent[1][2] == {"command": "cd /mnt && pytest -q"}


def test_disk_exec_writes_land_on_the_disk(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {
                    "command": "cd /mnt && make build",
                    "stdout": "built\n",
                    "writes": [
                        {"path": "/mnt/out/app.bin", "content": "ELF"},
                        {"path": "/mnt/report.txt", "content": "ok\nneedle\n"},
                    ],
                    "deletes": ["/mnt/old.txt"],
                }
            ],
        ),
    )
    with sdk(server.url) as client:
        disk = client.disks.get(A)
        result = disk.exec("cd /mnt && make build")
        assert (result.exit_code, result.stdout, result.stderr) == (0, "built\n", "")
        # The SDK's own file API and grep see the effects.
        assert disk.get_object("out/app.bin") == b"ELF"
        assert disk.get_object("report.txt") == b"ok\nneedle\n"
        assert disk.head_object("old.txt") is None
        found = disk.grep(directory="", pattern="needle", recursive=True)
        assert found.stopped_reason == "completed"
        assert [(m.file, m.line, m.text) for m in found.matches] == [("report.txt", 2, "needle")]


# --- Archil.exec -----------------------------------------------------------


def test_archil_exec_with_disks_ids_and_mount_specs(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {
                    "command": "ls -la /mnt/archil/a /mnt/archil/b",
                    "exitCode": 2,
                    "stdout": "a:\nb:\n",
                    "stderr": "partial\n",
                    "writes": [
                        {"path": "/mnt/archil/a/out.txt", "content": "from exec"},
                        {"path": "/mnt/archil/b/new.log", "content": "refused"},
                    ],
                }
            ],
        ),
    )
    with sdk(server.url) as client:
        disk_a, disk_b = client.disks.get(A), client.disks.get(B)
        result = client.exec(
            disks={"a": disk_a, "b": ExecMountSpec(disk=disk_b, subdirectory="app/logs", read_only=True)},
            command="ls -la /mnt/archil/a /mnt/archil/b",
        )
        assert isinstance(result, ExecResult)
        assert result.exit_code == 2
        assert result.stdout == "a:\nb:\n"
        assert result.stderr.startswith("partial\n"), result.stderr
        assert "/mnt/archil/b/new.log: Read-only file system" in result.stderr
        assert_timing(result)
        assert disk_a.get_object("out.txt") == b"from exec"
        assert read(server.url, B, "app/logs/new.log") is None
        assert read(server.url, B, "new.log") is None

        # Ids as strings, and a spec whose disk is an id.
        client.exec(
            disks={"x": A, "y/z": ExecMountSpec(disk=B, conditional=True)},
            command="ls -la /mnt/archil/a /mnt/archil/b",
        )

    # B.1: an ExecMountSpec always sends readOnly and conditional.
    sent = exec_bodies(server.url)
    assert [(p, s) for p, s, _ in sent] == [("/api/exec", 200)] * 2
    assert sent[0][2] == {
        "command": "ls -la /mnt/archil/a /mnt/archil/b",
        "disks": {"a": A, "b": {"disk": B, "readOnly": True, "conditional": False, "subdirectory": "app/logs"}},
    }
    assert sent[1][2]["disks"] == {"x": A, "y/z": {"disk": B, "readOnly": False, "conditional": True}}


def test_archil_exec_refuses_a_missing_subdirectory_and_read_only_delegation(start_mock, tmp_path):
    server = start_mock("--fixture", fixture(tmp_path, [{"commandRegex": "", "times": 1, "stdout": "ran\n"}]))
    with sdk(server.url) as client:
        with pytest.raises(ArchilApiError) as exc:
            client.exec(disks={"b": ExecMountSpec(disk=B, subdirectory="app/missing")}, command="ls")
        assert exc.value.status == 400
        assert exc.value.code == "validation_error"
        assert "is not a directory" in str(exc.value)
        with pytest.raises(ArchilApiError) as exc:
            client.exec(disks={"/abs": A}, command="ls")
        assert exc.value.status == 400
        assert "must be relative" in str(exc.value)
    assert rules_of(server.url)[0]["times"] == 1, "a refused exec used the rule"


def test_module_level_exec_and_workspace(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(tmp_path, [{"command": "du -sh /mnt/archil/*", "stdout": "4K\t/mnt/archil/data\n"}]),
    )
    archil.configure(api_key=DEFAULT_KEY, region=REGION, base_url=server.url)
    try:
        result = archil.exec(disks={"data": A}, command="du -sh /mnt/archil/*")
        assert (result.exit_code, result.stdout) == (0, "4K\t/mnt/archil/data\n")
        ws = archil.workspace({"data": archil.get_disk(A)})
        assert ws.exec("du -sh /mnt/archil/*").stdout == "4K\t/mnt/archil/data\n"
    finally:
        archil.configure()  # closes the module-level client
    sent = exec_bodies(server.url)
    assert [body for _, _, body in sent] == [
        {"command": "du -sh /mnt/archil/*", "disks": {"data": A}},
        {"command": "du -sh /mnt/archil/*", "disks": {"data": A}},
    ]


# --- workspaces -----------------------------------------------------------


def test_workspace_exec_mounts_every_disk(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {
                    "command": "cat /mnt/archil/data/keep.txt > /mnt/archil/logs/copy.log",
                    "writes": [{"path": "/mnt/archil/logs/copy.log", "content": "keep\n"}],
                    "deletes": ["/mnt/archil/logs/old.log"],
                }
            ],
        ),
    )
    with sdk(server.url) as client:
        ws = client.workspace(
            {"data": client.disks.get(A), "logs": ExecMountSpec(disk=client.disks.get(B), subdirectory="app/logs")}
        )
        result = ws.exec("cat /mnt/archil/data/keep.txt > /mnt/archil/logs/copy.log")
        assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
        assert_timing(result)
        # Under the subdirectory, seen through the workspace's own routing.
        assert ws.get_object("logs/copy.log") == b"keep\n"
        assert read(server.url, B, "app/logs/copy.log") == b"keep\n"
        assert read(server.url, B, "app/logs/old.log") is None
        found = ws.grep(directory="logs", pattern="keep", recursive=True)
        assert [(m.file, m.line, m.text) for m in found.matches] == [("logs/copy.log", 1, "keep")]

    # B.4: a plain mount is sent as an id, one with options as an ExecMount.
    [(_, _, body)] = exec_bodies(server.url)
    assert body["disks"] == {
        "data": A,
        "logs": {"disk": B, "readOnly": False, "conditional": False, "subdirectory": "app/logs"},
    }


# --- agent tools: run_bash --------------------------------------------------


def test_run_bash_on_a_disk_runs_in_mnt(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {"command": "cd /mnt && ls", "stdout": "keep.txt\nold.txt\n"},
                {"command": "cd /mnt && cat missing", "exitCode": 1, "stderr": "cat: missing: No such file\n"},
                {"command": "cd /mnt && make", "exitCode": 2, "stdout": "compiling\n", "stderr": "error\n"},
                {"command": "cd /mnt && true"},
                {
                    "command": "cd /mnt && echo hi > hi.txt",
                    "writes": [{"path": "/mnt/hi.txt", "content": "hi\n"}],
                },
                {"command": "cd /mnt && sleep 100", "timeout": True},
            ],
        ),
    )
    with sdk(server.url) as client:
        disk = client.disks.get(A)
        tools = {t.name: t for t in disk.agent_tools().tools}
        run_bash = tools["run_bash"]
        assert invoke(run_bash, {"command": "ls"}) == "exit code: 0\nstdout:\nkeep.txt\nold.txt\n"
        assert invoke(run_bash, {"command": "cat missing"}) == (
            "exit code: 1\nstderr:\ncat: missing: No such file\n"
        )
        assert invoke(run_bash, {"command": "make"}) == "exit code: 2\nstdout:\ncompiling\n\nstderr:\nerror\n"
        assert invoke(run_bash, {"command": "true"}) == "exit code: 0"
        assert invoke(run_bash, {"command": "echo hi > hi.txt"}) == "exit code: 0"
        assert disk.get_object("hi.txt") == b"hi\n"
        # The file tools see what the command wrote, at the same path.
        assert invoke(tools["read_file"], {"path": "/hi.txt"}) == "hi\n"
        # No rule: the hint names the exact command the tool sent.
        out = invoke(run_bash, {"command": "whoami"})
        assert out.startswith("exit code: 127\nstderr:\narchil-mock: no exec rule matches "), out
        assert '"cd /mnt && whoami"' in out, out
        # Errors come back as text, never raised (B.5).
        assert invoke(run_bash, {"command": "sleep 100"}) == "Error: Command timed out"
        assert invoke(run_bash, {}) == "Error: missing required argument 'command'"

    sent = [body["command"] for _, _, body in exec_bodies(server.url)]
    assert sent == [
        "cd /mnt && ls",
        "cd /mnt && cat missing",
        "cd /mnt && make",
        "cd /mnt && true",
        "cd /mnt && echo hi > hi.txt",
        "cd /mnt && whoami",
        "cd /mnt && sleep 100",
    ]


def test_run_bash_on_a_workspace_runs_in_mnt_archil(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {"command": "cd /mnt/archil && ls", "stdout": "alpha\nbeta\n"},
                {
                    "command": "cd /mnt/archil && cp alpha/keep.txt beta/keep.txt",
                    "writes": [{"path": "/mnt/archil/beta/keep.txt", "content": "keep\n"}],
                },
                {
                    "command": "cd /mnt/archil && rm alpha/old.txt",
                    "exitCode": 1,
                    "deletes": ["/mnt/archil/alpha/old.txt"],
                },
            ],
        ),
    )
    with sdk(server.url) as client:
        ws = client.workspace(
            {"alpha": ExecMountSpec(disk=client.disks.get(A), read_only=True), "beta": client.disks.get(B)}
        )
        run_bash = {t.name: t for t in ws.agent_tools().tools}["run_bash"]
        assert invoke(run_bash, {"command": "ls"}) == "exit code: 0\nstdout:\nalpha\nbeta\n"
        assert invoke(run_bash, {"command": "cp alpha/keep.txt beta/keep.txt"}) == "exit code: 0"
        assert read(server.url, B, "keep.txt") == b"keep\n"
        assert ws.get_object("beta/keep.txt") == b"keep\n"
        # alpha is read-only: the delete is refused, as EROFS would be.
        assert invoke(run_bash, {"command": "rm alpha/old.txt"}) == (
            "exit code: 1\nstderr:\narchil-mock: /mnt/archil/alpha/old.txt: Read-only file system\n"
        )
        assert read(server.url, A, "old.txt") == b"old\n"

    sent = exec_bodies(server.url)
    assert [body["command"] for _, _, body in sent] == [
        "cd /mnt/archil && ls",
        "cd /mnt/archil && cp alpha/keep.txt beta/keep.txt",
        "cd /mnt/archil && rm alpha/old.txt",
    ]
    assert sent[0][2]["disks"] == {
        "alpha": {"disk": A, "readOnly": True, "conditional": False},
        "beta": B,
    }


# --- errors ------------------------------------------------------------------


def test_a_timeout_is_an_archil_api_error_504(start_mock, tmp_path):
    server = start_mock(
        "--exec-timeout",
        "1",
        "--fixture",
        fixture(
            tmp_path,
            [
                {"command": "hang", "timeout": True},
                {"command": "slow", "delayMs": 1500, "stdout": "late\n"},
            ],
        ),
    )
    with sdk(server.url) as client:
        disk = client.disks.get(A)
        with pytest.raises(ArchilApiError) as exc:
            disk.exec("hang")
        assert exc.value.status == 504
        assert exc.value.code == "exec_timeout"
        assert str(exc.value) == "Command timed out"

        # A delay past --exec-timeout 1: 504 at the limit, not retried (B.3).
        started = time.monotonic()
        with pytest.raises(ArchilApiError) as exc:
            client.exec(disks={"a": A}, command="slow")
        elapsed = time.monotonic() - started
        assert (exc.value.status, exc.value.code, str(exc.value)) == (504, "exec_timeout", "Command timed out")
        assert 1.0 <= elapsed < 1.5, elapsed
    sent = exec_bodies(server.url)
    assert [(p, s) for p, s, _ in sent] == [(f"/api/disks/{A}/exec", 504), ("/api/exec", 504)], "no retries"

    # The raw body is exactly the contract's.
    resp = httpx.post(f"{server.url}/api/disks/{A}/exec", json={"command": "hang"}, headers={"Authorization": DEFAULT_KEY})
    assert resp.status_code == 504
    assert resp.json() == TIMED_OUT


def test_a_foreign_or_unknown_disk_is_404_and_nothing_runs(start_mock):
    server = start_mock("--api-key", f"alice={ALICE}", "--api-key", f"bob={BOB}")
    add_rules(
        server.url,
        {"id": "r", "commandRegex": "", "times": 1, "writes": [{"path": "/mnt/archil/mine/x", "content": "x"}]},
    )
    with sdk(server.url, ALICE) as alice, sdk(server.url, BOB) as bob:
        alices = alice.disks.create(name="alices").disk
        bobs = bob.disks.create(name="bobs").disk
        with pytest.raises(ArchilApiError) as exc:
            bob.exec(disks={"mine": bobs, "theirs": alices.id}, command="ls")
        assert (exc.value.status, exc.value.code) == (404, "not_found")
        with pytest.raises(ArchilApiError) as exc:
            bob.exec(disks={"mine": bobs, "theirs": ExecMountSpec(disk=alices.id, read_only=True)}, command="ls")
        assert exc.value.status == 404
        with pytest.raises(ArchilApiError) as exc:
            bob.exec(disks={"mine": bobs, "gone": UNKNOWN}, command="ls")
        assert exc.value.status == 404
        # execDisk on alice's disk with bob's key.
        resp = httpx.post(
            f"{server.url}/api/disks/{alices.id}/exec", json={"command": "ls"}, headers={"Authorization": BOB}
        )
        assert resp.status_code == 404, resp.text
        assert resp.json()["code"] == "not_found"
        assert rules_of(server.url)[0]["times"] == 1, "a refused exec used the rule"
        assert bobs.head_object("x") is None, "a refused exec wrote"
        # Alice runs on her own disk.
        assert alice.disks.get(alices.id).exec("ls").exit_code == 0


# --- the generated client --------------------------------------------------


def test_generated_exec_disk_and_exec(start_mock, tmp_path):
    server = start_mock(
        "--fixture",
        fixture(
            tmp_path,
            [
                {"command": "ls -la /mnt/archil", "exitCode": 0, "stdout": "total 0\n", "delayMs": 50},
                {
                    "command": "ls -la /mnt/archil/data /mnt/archil/logs",
                    "exitCode": 3,
                    "stderr": "nope\n",
                    "writes": [{"path": "/mnt/archil/data/g.txt", "content": "generated"}],
                },
                {"command": "hang", "timeout": True},
            ],
        ),
    )
    with gen_client(server.url) as client:
        assert client.prefix == "Bearer", "the generated client's default"
        resp = exec_disk.sync_detailed(A, client=client, body=ExecDiskRequest(command="ls -la /mnt/archil"))
        assert resp.status_code == 200
        parsed = resp.parsed
        assert isinstance(parsed, ApiResponseExecDisk), resp.content
        assert parsed.success is True
        assert isinstance(parsed.data, ExecDiskResult)
        assert (parsed.data.exit_code, parsed.data.stdout, parsed.data.stderr) == (0, "total 0\n", "")
        timing = parsed.data.timing
        assert isinstance(timing, GenExecTiming)
        assert timing.execute_ms >= 50
        assert timing.total_ms >= timing.queue_ms + timing.execute_ms
        assert parsed.data.additional_properties == {}, "no fields beyond the schema"

        disks = ExecRequestDisks()
        disks["data"] = A
        disks["logs"] = ExecMount(disk=B, subdirectory="app/logs", read_only=True, conditional=False)
        body = ExecRequest(disks=disks, command="ls -la /mnt/archil/data /mnt/archil/logs")
        resp = exec_.sync_detailed(client=client, body=body)
        assert resp.status_code == 200, resp.content
        assert isinstance(resp.parsed, ApiResponseExec)
        assert (resp.parsed.data.exit_code, resp.parsed.data.stdout, resp.parsed.data.stderr) == (3, "", "nope\n")
        assert read(server.url, A, "g.txt") == b"generated"

        # queueMs and checkoutPaths are accepted on a writable mount...
        disks = ExecRequestDisks()
        disks["db"] = ExecMount(disk=A, queue_ms=5000, checkout_paths=["db", "tmp/cache"])
        parsed = exec_.sync(client=client, body=ExecRequest(disks=disks, command="ls -la /mnt/archil"))
        assert isinstance(parsed, ApiResponseExec) and parsed.data.stdout == "total 0\n"
        # ...and refused with readOnly (400, an ErrorResponse).
        disks = ExecRequestDisks()
        disks["db"] = ExecMount(disk=A, read_only=True, queue_ms=5000)
        resp = exec_.sync_detailed(client=client, body=ExecRequest(disks=disks, command="ls"))
        assert resp.status_code == 400
        assert isinstance(resp.parsed, ErrorResponse)
        assert resp.parsed.success is False
        assert resp.parsed.code == "validation_error"
        assert "readOnly" in resp.parsed.error

        # 404, 400 (malformed id) and 504, each a documented ErrorResponse.
        resp = exec_disk.sync_detailed(UNKNOWN, client=client, body=ExecDiskRequest(command="ls"))
        assert resp.status_code == 404 and isinstance(resp.parsed, ErrorResponse)
        assert resp.parsed.code == "not_found"
        resp = exec_disk.sync_detailed("dsk-abc123", client=client, body=ExecDiskRequest(command="ls"))
        assert resp.status_code == 400 and isinstance(resp.parsed, ErrorResponse)
        resp = exec_disk.sync_detailed(A, client=client, body=ExecDiskRequest(command="hang"))
        assert resp.status_code == 504
        assert isinstance(resp.parsed, ErrorResponse)
        assert (resp.parsed.success, resp.parsed.error, resp.parsed.code) == (False, "Command timed out", "exec_timeout")
        disks = ExecRequestDisks()
        disks["a"] = A
        resp = exec_.sync_detailed(client=client, body=ExecRequest(disks=disks, command="hang"))
        assert resp.status_code == 504 and isinstance(resp.parsed, ErrorResponse)

    with gen_client(server.url, "key-wrong-0000000000000000000000") as bad:
        resp = exec_disk.sync_detailed(A, client=bad, body=ExecDiskRequest(command="ls"))
        assert resp.status_code == 401 and isinstance(resp.parsed, ErrorResponse)

"""grepDisk (`POST /api/disks/{id}/grep`) through the official clients,
unmodified: the Python SDK's `disk.grep(...)` and `workspace.grep(...)`, the
agent tools' `grep` tool on a disk and on a workspace (its exact
`/<file>:<line>: <text>` output and the caveat for each non-completed reason),
and the generated client's `grep_disk` with the default `Bearer` prefix and
`raise_on_unexpected_status=True`. The wire contract is
shared/contracts/exec-grep.md (A.0, A.3, B.1-B.5, C.5, C.6)."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import contextmanager
from typing import Iterator, Optional

import httpx
import pytest
from archil import Archil, ExecMountSpec
from archil._models import GrepMatch, GrepResult
from archil.errors import ArchilApiError
from archil_openapi import AuthenticatedClient
from archil_openapi.api.disks import grep_disk
from archil_openapi.models.api_response_grep_disk import ApiResponseGrepDisk
from archil_openapi.models.error_response import ErrorResponse
from archil_openapi.models.grep_disk_request import GrepDiskRequest
from archil_openapi.models.grep_disk_result import GrepDiskResult
from archil_openapi.models.grep_match import GrepMatch as OpenApiGrepMatch
from archil_openapi.models.grep_stopped_reason import GrepStoppedReason

DEFAULT_KEY = "key-archil-mock"
REGION = "aws-us-east-1"
RESULT_FIELDS = {
    "matches",
    "stoppedReason",
    "filesScanned",
    "containersDispatched",
    "computeSecondsUsed",
    "durationMs",
    "listingMs",
    "grepMs",
}

# What every test disk holds (written through the SDK's put_object).
FILES = {
    "top.txt": b"intro\nnothing\nERROR top\n",
    "logs/a.log": b"ERROR one\ninfo\nWARN a\n",
    "logs/deep/b.log": b"info\nERROR two\r\n",
    "logs/blob.bin": b"ERROR\x00binary\n",
    "notes/caf\u00e9.md": "caf\u00e9 \u65e5\u672c\u8a9e\n".encode(),
}


@contextmanager
def sdk(url: str, key: str = DEFAULT_KEY, **kwargs) -> Iterator[Archil]:
    with Archil(api_key=key, region=REGION, base_url=url, **kwargs) as client:
        yield client


def invoke(tool, args: dict) -> str:
    return asyncio.run(tool.invoke(args))


def journal(url: str, path: Optional[str] = None) -> list[dict]:
    params = {"path": path} if path else {}
    resp = httpx.get(f"{url}/_mock/requests", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["requests"]


def grep_bodies(url: str, disk_id: str) -> list[dict]:
    return [json.loads(e["body"]) for e in journal(url, f"/api/disks/{disk_id}/grep")]


def add_fault(url: str, rule: dict) -> None:
    resp = httpx.post(f"{url}/_mock/faults", json=rule)
    assert resp.status_code == 201, resp.text


def raw_grep(url: str, disk_id: str, body: dict, key: str = DEFAULT_KEY) -> httpx.Response:
    return httpx.post(f"{url}/api/disks/{disk_id}/grep", json=body, headers={"Authorization": key})


def new_disk(client: Archil, prefix: str = "grep"):
    return client.disks.create(name=f"{prefix}-{uuid.uuid4().hex[:10]}").disk


def seed(disk, files: Optional[dict] = None) -> None:
    for key, body in (files or FILES).items():
        disk.put_object(key, body)


def triples(result) -> list[tuple[str, int, str]]:
    return [(m.file, m.line, m.text) for m in result.matches]


@pytest.fixture
def server(start_mock):
    return start_mock()


@pytest.fixture
def client(server) -> Iterator[Archil]:
    with sdk(server.url) as c:
        yield c


@pytest.fixture
def disk(client):
    d = new_disk(client)
    seed(d)
    return d


# --- disk.grep ----------------------------------------------------------------


def test_disk_grep_sends_all_six_fields_and_parses_every_counter(server, disk):
    result = disk.grep(directory="logs", pattern="ERROR", recursive=True)
    assert isinstance(result, GrepResult)
    assert all(isinstance(m, GrepMatch) for m in result.matches)
    assert triples(result) == [
        ("logs/a.log", 1, "ERROR one"),
        ("logs/deep/b.log", 2, "ERROR two\r"),
    ], "disk-root-relative paths, 1-based lines, \\r kept, the binary file skipped"
    assert result.stopped_reason == "completed"
    assert result.files_scanned == 3, "a.log, blob.bin and deep/b.log"
    assert result.containers_dispatched == 1
    assert isinstance(result.compute_seconds_used, float)
    assert result.compute_seconds_used > 0
    for field in ("files_scanned", "containers_dispatched", "duration_ms", "listing_ms", "grep_ms"):
        assert isinstance(getattr(result, field), int), field
    assert result.listing_ms <= result.duration_ms and result.grep_ms <= result.duration_ms

    # B.1: the SDK always sends all six fields, the defaults filled in.
    assert disk.grep(directory="", pattern="intro").matches == [GrepMatch("top.txt", 1, "intro")]
    bodies = grep_bodies(server.url, disk.id)
    assert bodies[-1] == {
        "directory": "",
        "pattern": "intro",
        "recursive": False,
        "maxDurationSeconds": 30,
        "concurrency": 50,
        "maxResults": 1000,
    }
    assert bodies[0]["recursive"] is True and bodies[0]["directory"] == "logs"


def test_disk_grep_recursive_directories_and_unicode(disk):
    assert triples(disk.grep(directory="", pattern="ERROR")) == [("top.txt", 3, "ERROR top")]
    assert triples(disk.grep(directory="/", pattern="ERROR", recursive=True)) == [
        ("logs/a.log", 1, "ERROR one"),
        ("logs/deep/b.log", 2, "ERROR two\r"),
        ("top.txt", 3, "ERROR top"),
    ]
    assert triples(disk.grep(directory="/logs/", pattern="ERROR")) == [("logs/a.log", 1, "ERROR one")]
    assert triples(disk.grep(directory="notes", pattern="\\p{Han}{3}")) == [
        ("notes/caf\u00e9.md", 1, "caf\u00e9 \u65e5\u672c\u8a9e")
    ]
    assert triples(disk.grep(directory="", pattern="^ERROR\ncaf\u00e9", recursive=True)) == [
        ("logs/a.log", 1, "ERROR one"),
        ("logs/deep/b.log", 2, "ERROR two\r"),
        ("notes/caf\u00e9.md", 1, "caf\u00e9 \u65e5\u672c\u8a9e"),
        ("top.txt", 3, "ERROR top"),
    ], "a newline separates alternatives"
    missing = disk.grep(directory="nope", pattern="ERROR", recursive=True)
    assert (missing.matches, missing.stopped_reason, missing.files_scanned) == ([], "completed", 0)
    assert (missing.containers_dispatched, missing.grep_ms, missing.compute_seconds_used) == (0, 0, 0.0)
    as_file = disk.grep(directory="top.txt", pattern="ERROR")
    assert (as_file.stopped_reason, as_file.files_scanned) == ("completed", 0)


def test_disk_grep_stopped_reasons(disk):
    capped = disk.grep(directory="", pattern="ERROR|info", recursive=True, max_results=2)
    assert capped.stopped_reason == "max_results"
    assert triples(capped) == [("logs/a.log", 1, "ERROR one"), ("logs/a.log", 2, "info")]

    exact = disk.grep(directory="", pattern="ERROR|info", recursive=True, max_results=5)
    assert exact.stopped_reason == "completed", "exactly N matches and nothing left out"
    assert len(exact.matches) == 5

    invalid = disk.grep(directory="", pattern="(a)\\1", recursive=True)
    assert invalid.stopped_reason == "incomplete", "an invalid regex is not a 400"
    assert invalid.matches == []
    assert invalid.files_scanned == len(FILES)

    fast = disk.grep(directory="", pattern="ERROR", recursive=True, max_duration_seconds=1, concurrency=1)
    assert fast.stopped_reason == "completed", "a tiny search finishes well inside 1 s"


def test_disk_grep_errors_are_archil_api_errors(server, client, disk):
    for kwargs, needle in [
        ({"max_results": 0}, "maxResults"),
        ({"max_results": 10001}, "maxResults"),
        ({"max_duration_seconds": 0}, "maxDurationSeconds"),
        ({"max_duration_seconds": 31}, "maxDurationSeconds"),
        ({"concurrency": 0}, "concurrency"),
        ({"concurrency": 101}, "concurrency"),
        ({"directory": "logs/../.."}, "directory"),
        ({"directory": "a\x00b"}, "directory"),
    ]:
        args = {"directory": "", "pattern": "x", **kwargs}
        with pytest.raises(ArchilApiError) as err:
            disk.grep(**args)
        assert err.value.status == 400, kwargs
        assert err.value.code == "validation_error", kwargs
        assert needle in str(err.value), (kwargs, str(err.value))

    # B.3: grep is never retried; a 500 surfaces at once.
    add_fault(server.url, {"path": f"/api/disks/{disk.id}/grep", "status": 500, "times": 1})
    before = len(grep_bodies(server.url, disk.id))
    with pytest.raises(ArchilApiError) as err:
        disk.grep(directory="", pattern="x")
    assert err.value.status == 500
    assert len(grep_bodies(server.url, disk.id)) == before + 1, "one request, no retry"

    # A deleted disk: 404.
    gone = new_disk(client, "gone")
    gone.delete()
    with pytest.raises(ArchilApiError) as err:
        gone.grep(directory="", pattern="x")
    assert err.value.status == 404

    # A key the server does not know: 401 (outside the SDK, which needs a
    # Disk it could not have fetched).
    resp = raw_grep(server.url, disk.id, {"directory": "", "pattern": "x"}, key="key-not-known-000000000000")
    assert resp.status_code == 401, resp.text
    assert resp.json()["success"] is False


def test_a_wire_result_has_exactly_the_spec_fields(server, disk):
    resp = raw_grep(server.url, disk.id, {"directory": "", "pattern": "ERROR", "recursive": True})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True
    assert set(body["data"]) == RESULT_FIELDS
    assert isinstance(body["data"]["computeSecondsUsed"], float)
    empty = raw_grep(server.url, disk.id, {"directory": "nope", "pattern": "x"}).json()["data"]
    assert empty["matches"] == [], "never null ([G] raises on null)"
    assert empty["computeSecondsUsed"] == 0.0 and isinstance(empty["computeSecondsUsed"], float)


# --- workspace.grep -------------------------------------------------------------


def test_workspace_grep_fans_out_and_rewrites_paths(server, client):
    alpha, beta = new_disk(client, "ws-alpha"), new_disk(client, "ws-beta")
    seed(alpha, {"x.txt": b"ERROR a1\nok\n", "sub/y.txt": b"ERROR a2\n"})
    seed(beta, {"app/logs/z.log": b"ERROR b1\n", "app/logs/sub/w.log": b"ERROR b2\n", "app/other.txt": b"ERROR hidden\n"})
    ws = client.workspace({"alpha": alpha, "beta": ExecMountSpec(disk=beta, subdirectory="app/logs")})

    everything = ws.grep(directory="", pattern="ERROR", recursive=True)
    assert triples(everything) == [
        ("alpha/sub/y.txt", 1, "ERROR a2"),
        ("alpha/x.txt", 1, "ERROR a1"),
        ("beta/sub/w.log", 1, "ERROR b2"),
        ("beta/z.log", 1, "ERROR b1"),
    ], "disk-root-relative paths with the subdirectory stripped and the mount name added (B.4)"
    assert everything.stopped_reason == "completed"
    assert everything.files_scanned == 4
    assert everything.containers_dispatched == 2, "one per disk"
    assert grep_bodies(server.url, beta.id)[-1]["directory"] == "app/logs"

    only_beta = ws.grep(directory="beta/sub", pattern="ERROR")
    assert triples(only_beta) == [("beta/sub/w.log", 1, "ERROR b2")]
    assert grep_bodies(server.url, beta.id)[-1]["directory"] == "app/logs/sub"

    # Each disk completes with 2, the merge has 4 > 3: the SDK caps and says so.
    capped = ws.grep(directory="", pattern="ERROR", recursive=True, max_results=3)
    assert capped.stopped_reason == "max_results"
    assert len(capped.matches) == 3

    # An invalid pattern: each disk is incomplete.
    assert ws.grep(directory="", pattern="(x)\\1", recursive=True).stopped_reason == "incomplete"

    # A disk whose grep fails counts as list_failed; the other's matches stay.
    add_fault(server.url, {"path": f"/api/disks/{beta.id}/grep", "status": 500, "times": 1})
    partial = ws.grep(directory="", pattern="ERROR", recursive=True)
    assert partial.stopped_reason == "list_failed"
    assert [m.file for m in partial.matches] == ["alpha/sub/y.txt", "alpha/x.txt"]


# --- agent tools ----------------------------------------------------------------


def test_agent_grep_tool_on_a_disk(disk):
    tools = {t.name: t for t in disk.agent_tools().tools}
    grep = tools["grep"]
    assert invoke(grep, {"pattern": "ERROR"}) == (
        "/logs/a.log:1: ERROR one\n/logs/deep/b.log:2: ERROR two\r\n/top.txt:3: ERROR top"
    ), "recursive by default, from the root, /<file>:<line>: <text>"
    assert invoke(grep, {"pattern": "ERROR", "path": "/logs", "recursive": "false"}) == "/logs/a.log:1: ERROR one"
    assert invoke(grep, {"pattern": "ERROR", "path": "/mnt/logs/deep"}) == "/logs/deep/b.log:2: ERROR two\r"
    assert invoke(grep, {"pattern": "ERROR", "path": "/logs/../notes/."}) == (
        "No matches for /ERROR/ under /logs/../notes/. (1 files scanned)."
    )
    assert invoke(grep, {"pattern": "\\p{Han}+"}) == "/notes/caf\u00e9.md:1: caf\u00e9 \u65e5\u672c\u8a9e"
    assert invoke(grep, {"pattern": "nothing here"}) == f"No matches for /nothing here/ under / ({len(FILES)} files scanned)."
    assert invoke(grep, {"pattern": "ERROR", "path": "/nope"}) == "No matches for /ERROR/ under /nope (0 files scanned)."

    # Caveats for the non-completed reasons.
    assert invoke(grep, {"pattern": "ERROR", "max_results": "2"}) == (
        "/logs/a.log:1: ERROR one\n/logs/deep/b.log:2: ERROR two\r\n… more matches exist; showing the first 2."
    )
    assert invoke(grep, {"pattern": "(a)\\1"}) == (
        f"No matches for /(a)\\1/ under / ({len(FILES)} files scanned). "
        "… some files could not be searched; results may be incomplete."
    )

    # An out-of-range max_results reaches the server: its 400 comes back as text.
    assert invoke(grep, {"pattern": "ERROR", "max_results": 20000}) == "Error: maxResults must be between 1 and 10000"
    assert invoke(grep, {"pattern": "ERROR", "max_results": 0}) == "Error: maxResults must be between 1 and 10000"
    assert invoke(grep, {"pattern": "ERROR", "max_results": "10000"}).startswith("/logs/a.log:1: ERROR one")
    assert invoke(grep, {}) == "Error: missing required argument 'pattern'"


def test_agent_grep_tool_on_a_workspace(server, client):
    alpha, beta = new_disk(client, "tools-alpha"), new_disk(client, "tools-beta")
    seed(alpha, {"x.txt": b"ERROR a1\n", "d/y.txt": b"ERROR a2\n"})
    seed(beta, {"app/z.log": b"ERROR b1\nERROR b2\n"})
    ws = client.workspace({"alpha": alpha, "beta": ExecMountSpec(disk=beta, subdirectory="app", read_only=True)})
    grep = {t.name: t for t in ws.agent_tools().tools}["grep"]

    assert invoke(grep, {"pattern": "ERROR"}) == (
        "/alpha/d/y.txt:1: ERROR a2\n/alpha/x.txt:1: ERROR a1\n/beta/z.log:1: ERROR b1\n/beta/z.log:2: ERROR b2"
    )
    assert invoke(grep, {"pattern": "ERROR", "path": "/beta"}) == "/beta/z.log:1: ERROR b1\n/beta/z.log:2: ERROR b2"
    assert invoke(grep, {"pattern": "ERROR", "path": "/mnt/archil/alpha", "recursive": False}) == (
        "/alpha/x.txt:1: ERROR a1"
    )
    assert invoke(grep, {"pattern": "ERROR", "max_results": 3}) == (
        "/alpha/d/y.txt:1: ERROR a2\n/alpha/x.txt:1: ERROR a1\n/beta/z.log:1: ERROR b1\n"
        "… more matches exist; showing the first 3."
    )
    assert invoke(grep, {"pattern": "(a)\\1"}) == (
        "No matches for /(a)\\1/ under / (3 files scanned). "
        "… some files could not be searched; results may be incomplete."
    )
    assert invoke(grep, {"pattern": "ERROR", "path": "/nomount"}).startswith("Error: No disk named 'nomount'")

    add_fault(server.url, {"path": f"/api/disks/{beta.id}/grep", "status": 500, "times": 1})
    assert invoke(grep, {"pattern": "ERROR"}) == (
        "/alpha/d/y.txt:1: ERROR a2\n/alpha/x.txt:1: ERROR a1\n"
        "… listing failed for part of the tree; results may be partial."
    )


# --- the generated client -------------------------------------------------------


def test_generated_client_grep_disk_with_bearer_prefix(server, disk):
    with AuthenticatedClient(
        base_url=server.url, token=DEFAULT_KEY, raise_on_unexpected_status=True
    ) as api:
        resp = grep_disk.sync_detailed(
            disk.id, client=api, body=GrepDiskRequest(directory="logs", pattern="ERROR", recursive=True)
        )
        assert resp.status_code == 200, resp.content
        parsed = resp.parsed
        assert isinstance(parsed, ApiResponseGrepDisk), resp.content
        assert parsed.success is True
        assert parsed.additional_properties == {}
        data = parsed.data
        assert isinstance(data, GrepDiskResult)
        assert data.stopped_reason is GrepStoppedReason.COMPLETED
        assert isinstance(data.matches, list)
        assert all(isinstance(m, OpenApiGrepMatch) for m in data.matches)
        assert [(m.file, m.line, m.text) for m in data.matches] == [
            ("logs/a.log", 1, "ERROR one"),
            ("logs/deep/b.log", 2, "ERROR two\r"),
        ]
        assert data.files_scanned == 3 and data.containers_dispatched == 1
        assert isinstance(data.compute_seconds_used, float)
        assert data.groups == [] and data.additional_properties == {}
        assert api.get_httpx_client().headers["Authorization"] == f"Bearer {DEFAULT_KEY}"

        capped = grep_disk.sync(
            disk.id, client=api, body=GrepDiskRequest(directory="", pattern="ERROR", recursive=True, max_results=1)
        )
        assert isinstance(capped, ApiResponseGrepDisk)
        assert capped.data.stopped_reason is GrepStoppedReason.MAX_RESULTS
        assert len(capped.data.matches) == 1

        invalid = grep_disk.sync(disk.id, client=api, body=GrepDiskRequest(directory="", pattern="a{1"))
        assert isinstance(invalid, ApiResponseGrepDisk)
        assert invalid.data.stopped_reason is GrepStoppedReason.INCOMPLETE
        assert invalid.data.matches == []

        # Fields only the newer spec has are accepted (ignored): still 200 and parsed.
        newer = grep_disk.sync_detailed(
            disk.id,
            client=api,
            body=GrepDiskRequest(
                directory="",
                pattern="intro",
                ignore_case=False,
                multiline=False,
                globs=["*.txt"],
                types=["txt"],
                types_not=["md"],
                context_before=0,
                context_after=0,
            ),
        )
        assert newer.status_code == 200, newer.content
        assert isinstance(newer.parsed, ApiResponseGrepDisk)
        assert [m.file for m in newer.parsed.data.matches] == ["top.txt"]

        # Documented errors parse into ErrorResponse (no UnexpectedStatus).
        for disk_id, body, status in [
            (disk.id, GrepDiskRequest(directory="", pattern="x", max_results=0), 400),
            (disk.id, GrepDiskRequest(directory="..", pattern="x"), 400),
            ("dsk-NOT-HEX", GrepDiskRequest(directory="", pattern="x"), 400),
            ("dsk-0000000000000000", GrepDiskRequest(directory="", pattern="x"), 404),
        ]:
            resp = grep_disk.sync_detailed(disk_id, client=api, body=body)
            assert resp.status_code == status, (disk_id, resp.content)
            assert isinstance(resp.parsed, ErrorResponse), resp.content
            assert resp.parsed.success is False and resp.parsed.error

    with AuthenticatedClient(
        base_url=server.url, token="key-unknown-0000000000000", raise_on_unexpected_status=True
    ) as stranger:
        resp = grep_disk.sync_detailed(disk.id, client=stranger, body=GrepDiskRequest(directory="", pattern="x"))
        assert resp.status_code == 401
        assert isinstance(resp.parsed, ErrorResponse)

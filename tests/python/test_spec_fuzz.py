"""Spec fuzzing: schemathesis generates requests from the published OpenAPI
spec for the Disks and Disk Users operations and checks every answer of a real
archil-mock against the same spec: no 5xx, only documented statuses and
content types, bodies matching the response schemas, schema-valid requests
accepted and schema-violating ones rejected, auth enforced.

Each operation gets a fresh server (`start_mock`) loaded with a small fixture
(two disks, a token user and an awssts user with fixed ids), and every case
starts from that state (`POST /_mock/reset`), so a case never sees what an
earlier one created or deleted. Schemathesis's fuzz dictionaries put the seeded
disk ids, user identifiers and a valid ARN into about half of the generated
requests, so the happy paths are fuzzed as well as the 400/404 ones;
`test_fuzzing_reached_the_happy_paths` checks that they were.

The few places where the mock deliberately answers differently from the
spec, as the wire contract (shared/contracts/disks.md) recommends, are
exempted one by one in `_deviations`: each exemption names the operation, the
status and the request it applies to. Everything else is a failure.

The spec is read from $ARCHIL_OPENAPI_SPEC, by default from the shared
checkout next to this repository (../shared/spec/archil-openapi.yml).
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
    status_code_conformance,
)

SPEC = Path(
    os.environ.get(
        "ARCHIL_OPENAPI_SPEC",
        Path(__file__).resolve().parents[3] / "shared" / "spec" / "archil-openapi.yml",
    )
)
KEY = "key-archil-mock"
# Cases per operation in the fuzzing phase; the examples and coverage phases
# add their own (a few dozen more for each operation).
MAX_EXAMPLES = 40

# The emulated operations of the two tags; the Serverless Execution tag
# (execDisk, grepDisk, exec) is not emulated yet.
OPERATIONS = {
    "Disks": {"listDisks", "createDisk", "getDisk", "deleteDisk"},
    "Disk Users": {"addDiskUser", "removeDiskUser"},
}

# The spec's own example id, so the examples phase hits a real disk too.
SEEDED_DISK = "dsk-0123456789abcdef"
SEEDED_S3_DISK = "dsk-00000000000000b2"
SEEDED_TOKEN_USER = "fuzz-token-user"
SEEDED_ARN = "arn:aws:iam::123456789012:role/seeded"
# Not a user of any disk yet (adding a principal the disk already has gets 400,
# "already a user", which the checks would count as a schema-valid request
# refused). It ends in "fuzz" so that, as a token user's deprecated
# `principal`, it matches the `tokenSuffix` "fuzz".
FRESH_ARN = "arn:aws:iam::123456789012:role/fuzz"

FIXTURE = {
    "accounts": [
        {
            # The account of the built-in key.
            "name": "default",
            "disks": [
                {
                    "id": SEEDED_DISK,
                    # The spec's example name: createDisk examples hit the
                    # idempotent 200 and the 409 paths.
                    "name": "my-data-disk",
                    "users": [
                        {
                            "type": "token",
                            "nickname": "seeded",
                            "token": "fuzz-seeded-token-0001",
                            "identifier": SEEDED_TOKEN_USER,
                        },
                        {"type": "awssts", "principal": SEEDED_ARN},
                    ],
                },
                {
                    "id": SEEDED_S3_DISK,
                    "name": "seeded-s3",
                    "mounts": [
                        {
                            "type": "s3",
                            "bucketName": "fuzz-bucket",
                            "bucketPrefix": "data/",
                            "authorizationType": "iam",
                        }
                    ],
                    "allowedIps": ["203.0.113.0/24"],
                },
            ],
        }
    ]
}


def _load_schema() -> schemathesis.BaseSchema:
    raw = yaml.safe_load(SPEC.read_text())
    # Never the production hosts: every call passes the mock's URL, and
    # anything that did not would go nowhere.
    raw["servers"] = [{"url": "http://127.0.0.1:9"}]
    config = schemathesis.Config.from_dict(
        {
            # The spec's ApiKeyAuth scheme, filled in by schemathesis, so the
            # negative cases that leave the key out stay without one.
            "auth": {"openapi": {"ApiKeyAuth": {"api_key": KEY}}},
            # The key is the public built-in one: show it in the curl lines.
            "output": {"sanitization": {"enabled": False}},
            "dictionaries": {
                "disk_ids": {"values": [SEEDED_DISK, SEEDED_S3_DISK]},
                "identifiers": {"values": [SEEDED_TOKEN_USER, SEEDED_ARN]},
                "principals": {"values": [FRESH_ARN]},
                "suffixes": {"values": ["fuzz"]},
            },
            "parameters": {
                "path.id": {"dictionary": "disk_ids", "probability": 0.5},
                "query.identifier": {"dictionary": "identifiers", "probability": 0.5},
                "body.principal": {"dictionary": "principals", "probability": 0.5},
                "body.tokenSuffix": {"dictionary": "suffixes", "probability": 0.5},
            },
        }
    )
    return schemathesis.openapi.from_dict(raw, config=config)


# operation label -> status -> number of responses, and the operations with a
# failing case, for the happy-path check.
_statuses: dict[str, Counter[int]] = defaultdict(Counter)
_failed: set[str] = set()


@pytest.fixture
def mock_url(start_mock, tmp_path) -> str:
    fixture = tmp_path / "fuzz-fixture.json"
    fixture.write_text(json.dumps(FIXTURE))
    return start_mock("--fixture", str(fixture)).url


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _check(case, mock_url: str, session: requests.Session) -> None:
    """One generated case: from the fixture's state, send it and run every
    schemathesis check on the answer, less the deviations below."""
    session.post(f"{mock_url}/_mock/reset").raise_for_status()
    response = case.call(base_url=mock_url, session=session)
    _statuses[case.operation.label][response.status_code] += 1
    excluded, undocumented_ok = _deviations(case, response)
    try:
        if undocumented_ok:
            _assert_error_envelope(response)
        case.validate_response(
            response,
            excluded_checks=excluded,
            transport_kwargs={"base_url": mock_url, "session": session},
        )
    except BaseException:
        _failed.add(case.operation.label)
        raise


def _fuzz_test(operation_id: str) -> Callable:
    # On the whole spec: a second `.include()` would widen a selection, not narrow it.
    @schema.include(operation_id=operation_id).parametrize()
    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        # A server per operation, on purpose: every case resets its state.
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    def test(case, mock_url, session) -> None:
        _check(case, mock_url, session)

    test.__name__ = test.__qualname__ = f"test_{operation_id}"
    return test


def test_the_published_spec_is_there() -> None:
    assert SPEC.is_file(), f"the published OpenAPI spec is not at {SPEC}: set ARCHIL_OPENAPI_SPEC to its path"


# One test function per operation: `test_listDisks`, `test_createDisk`, ...
# (With pytest 9.2, the items schemathesis 4.32 makes for the operations of a
# single function all get the function's bare name as node id, which breaks
# -k, --lf and the test reports.) Without the spec there are none, and only
# the test above fails, not the whole session's collection.
if SPEC.is_file():
    schema = _load_schema()
    for _operation_id in sorted(set().union(*OPERATIONS.values())):
        globals()[f"test_{_operation_id}"] = _fuzz_test(_operation_id)


# ---------------------------------------------------------------------------
# Deliberate deviations from the spec (shared/contracts/disks.md)
# ---------------------------------------------------------------------------


def _deviations(case, response) -> tuple[list[Callable], bool]:
    """The checks to skip for this one response, and whether its status is
    one the spec does not list but the contract recommends (its body must
    then still be the error envelope)."""
    op = case.operation.definition.raw.get("operationId")
    status = response.status_code
    query = _sent_query(response)
    body = _sent_json(response)

    if op == "listDisks":
        limit = query.get("limit")
        limit_is_one_integer = limit is not None and len(limit) == 1 and bool(_INTEGER.fullmatch(limit[0]))
        # §3.1 and §6 #3: `limit` above the spec's maximum of 100 is clamped,
        # not rejected (the SDK sends larger values and relies on the clamp).
        if status == 200 and limit_is_one_integer and int(limit[0]) > 100:
            return [negative_data_rejection], False
        # §3.1 (cursor: "comes from the previous page's nextCursor"): a cursor
        # the server did not issue, or a `limit` that is not one integer
        # (`limit=abc`, `limit=1&limit=2`), gets 400, which listDisks does not
        # list. A random string is a schema-valid cursor, hence both checks.
        # An integer limit below 1 is not exempt.
        malformed_limit = limit is not None and not limit_is_one_integer
        foreign_cursor = any(c != "" for c in query.get("cursor", []))
        if status == 400 and (malformed_limit or foreign_cursor):
            return [status_code_conformance, positive_data_acceptance], True

    if op in ("addDiskUser", "removeDiskUser") and status == 404:
        # §3.5, §3.6 and §6 #13: an unknown disk (or, on remove, an unknown
        # identifier) gets 404, as getDisk does; neither operation lists it.
        # A malformed id must still get the spec's 400 (§1 "Ids").
        if _DISK_ID.fullmatch(str(case.path_parameters.get("id", ""))):
            return [status_code_conformance], True

    if op == "removeDiskUser" and status == 400:
        # §3.6: neither `identifier` nor the deprecated `principal` (an empty
        # one is none) gets 400, though the schema requires neither.
        if not any(v for name in ("identifier", "principal") for v in query.get(name, [])):
            return [positive_data_acceptance], False

    if status == 400 and op in ("addDiskUser", "createDisk"):
        users = [body] if op == "addDiskUser" else _list(body, "authMethods")
        if any(_bad_principal(user) for user in users):
            return [positive_data_acceptance], False

    if status == 400 and op == "createDisk":
        # README "known deviations": a mount's required field may not be an
        # empty string (the spec sets no minLength; the Go backend's
        # `required` refuses zero values).
        if any(_empty_required(mount) for mount in _list(body, "mounts")):
            return [positive_data_acceptance], False

    return [], False


_INTEGER = re.compile(r"-?[0-9]+")
_DISK_ID = re.compile(r"dsk-[0-9a-f]{16}")


def _bad_principal(user: Any) -> bool:
    """A DiskUser the contract (§3.5) has the server refuse although the
    schema allows it: an awssts `principal` that is not an IAM ARN (`arn:…`),
    or a token user's deprecated `principal` without a `tokenSuffix` equal to
    its last 4 characters (so an empty principal is refused for both)."""
    if not isinstance(user, dict) or not isinstance(user.get("principal"), str):
        return False
    principal = user["principal"]
    if user.get("type") == "awssts":
        return not principal.startswith("arn:")
    if user.get("type") == "token":
        suffix = user.get("tokenSuffix")
        return not (isinstance(suffix, str) and len(principal) >= 4 and principal[-4:] == suffix)
    return False


_MOUNT_REQUIRED = {
    "s3": ["bucketName"],
    "gcs": ["bucketName", "accessKeyId", "secretAccessKey"],
    "r2": ["bucketName", "bucketEndpoint", "accessKeyId", "secretAccessKey"],
    "s3-compatible": ["bucketName", "bucketEndpoint", "accessKeyId", "secretAccessKey"],
    "azure-blob": ["containerName", "tenantId", "clientId", "clientSecret"],
}


def _empty_required(mount: Any) -> bool:
    """A mount one of whose required fields is the empty string."""
    if not isinstance(mount, dict):
        return False
    kind = mount.get("type")
    required = _MOUNT_REQUIRED.get(kind, []) if isinstance(kind, str) else []
    return any(mount.get(f) == "" for f in required)


def _list(body: Any, key: str) -> list:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, list) else []


def _sent_query(response) -> dict[str, list[str]]:
    """The query string as it went over the wire."""
    return parse_qs(urlsplit(response.request.url).query, keep_blank_values=True)


def _sent_json(response) -> Any:
    raw = response.request.body
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _assert_error_envelope(response) -> None:
    """What the spec's ErrorResponse requires, for a status it does not list."""
    media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
    assert media_type == "application/json", f"{response.status_code} with Content-Type {media_type!r}"
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("success") is False, body
    assert isinstance(body.get("error"), str), body


# ---------------------------------------------------------------------------
# Guards on the run itself
# ---------------------------------------------------------------------------


def test_the_fuzzed_operations_are_all_of_the_two_tags() -> None:
    """A new Disks or Disk Users operation in the spec must be added here (or
    listed as not emulated) rather than silently left out."""
    if not SPEC.is_file():
        pytest.skip("no spec (see test_the_published_spec_is_there)")
    raw = yaml.safe_load(SPEC.read_text())
    found: dict[str, set[str]] = defaultdict(set)
    for item in raw["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                for tag in operation.get("tags", []):
                    if tag in OPERATIONS:
                        found[tag].add(operation["operationId"])
    assert found == OPERATIONS


# What a case that hits a seeded disk, user or a fresh ARN answers.
HAPPY = {
    "GET /api/disks": 200,
    "POST /api/disks": 201,
    "GET /api/disks/{id}": 200,
    "DELETE /api/disks/{id}": 200,
    "POST /api/disks/{id}/users": 201,
    "DELETE /api/disks/{id}/users/{userType}": 200,
}


def test_fuzzing_reached_the_happy_paths() -> None:
    """Random disk ids and identifiers almost never exist; the dictionaries
    are what make the fuzzer reach real ones. Runs after the fuzz test (same
    module, later in the file) and checks the operations it fuzzed to the end."""
    # An operation with a failing case stopped early; its failure is reported.
    ran = {label: counts for label, counts in _statuses.items() if label in HAPPY and label not in _failed}
    if not ran:
        pytest.skip("no operation was fuzzed to the end in this session")
    missed = {label: dict(counts) for label, counts in ran.items() if counts[HAPPY[label]] == 0}
    assert not missed, f"no success status for: {missed}"

"""fixtures/schema.json against what the mock really reads and writes: every
shipped fixture validates, and so does a live snapshot (GET /_mock/state) of a
server holding tokens, disks, users, branches and mounts. A snapshot that
validates also loads again as a fixture."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
KEY = {"Authorization": "key-archil-mock"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((FIXTURES / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def errors(validator, document) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.glob("*.json") if p.name != "schema.json"),
    ids=lambda p: p.name,
)
def test_every_shipped_fixture_validates(validator, path):
    assert errors(validator, json.loads(path.read_text())) == []


def test_the_schema_refuses_what_the_server_refuses(validator):
    bad = [
        {"accounts": [{"name": "a", "disks": [{"name": "has space"}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "id": "dsk-XYZ"}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "status": "gone"}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "mounts": [{"type": "s3"}, {"type": "s3"}]}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "rootAttrs": {"mode": 512}}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "users": [{"type": "awssts", "principal": "x"}]}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "users": [{"type": "token", "nickname": "n"}]}]}]},
        {"accounts": [{"name": "a", "disks": [{"name": "d", "status": "failed", "readyAfterMs": 5}]}]},
        {"diskReadyMs": -1},
    ]
    for document in bad:
        assert errors(validator, document), document


def test_a_live_snapshot_with_disks_validates_and_loads_again(validator, start_mock, tmp_path):
    server = start_mock()
    url = server.url
    created = httpx.post(
        f"{url}/api/disks",
        headers=KEY,
        json={
            "name": "snap",
            "mounts": [{"type": "r2", "bucketName": "b", "bucketEndpoint": "https://r2.example",
                        "accessKeyId": "AKIDSNAPSHOT", "secretAccessKey": "never-in-a-snapshot"}],
            "allowedIps": ["198.51.100.0/24"],
            "rootAttrs": {"uid": 7},
        },
    )
    assert created.status_code == 201, created.text
    disk_id = created.json()["data"]["diskId"]
    added = httpx.post(
        f"{url}/api/disks/{disk_id}/users",
        headers=KEY,
        json={"type": "token", "nickname": "ro", "ttl": "1h", "readOnly": True},
    )
    assert added.status_code == 201, added.text
    token = added.json()["data"]["token"]
    assert httpx.post(f"{url}/api/disks", headers=KEY, json={"name": "plain"}).status_code == 201

    state = httpx.get(f"{url}/_mock/state").json()["data"]
    text = json.dumps(state)
    for secret in ["never-in-a-snapshot", "AKIDSNAPSHOT", token]:
        assert secret not in text
    assert errors(validator, state) == []
    disks = state["accounts"][0]["disks"]
    assert [d["name"] for d in disks] == ["snap", "plain"]

    saved = tmp_path / "snapshot.json"
    saved.write_text(json.dumps(state))
    again = start_mock("--fixture", str(saved))
    reloaded = httpx.get(f"{again.url}/_mock/state").json()["data"]
    assert reloaded["accounts"][0]["disks"] == disks
    disk = httpx.get(f"{again.url}/api/disks/{disk_id}", headers=KEY).json()["data"]
    assert disk["mounts"][0]["authorizationType"] == "accessKeys"
    assert disk["authorizedUsers"][1]["readOnly"] is True

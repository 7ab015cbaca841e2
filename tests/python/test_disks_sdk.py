"""The official Python SDK (`archil` on PyPI), unmodified, against archil-mock's
disk endpoints: create (new, idempotent, conflicting), get, wait_until_ready
through `creating`, list / list_pages / the name filter, disk users and tokens,
allowed IPs, delegations, branches and delete. Errors surface as ArchilApiError
with the HTTP status. The wire contract is shared/contracts/disks.md."""

from __future__ import annotations

import json
import re
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

import httpx
import pytest
from archil import Archil, AwsStsUser, Delegation, RootAttrs, S3Mount, TokenUser
from archil.errors import ArchilApiError

DEFAULT_KEY = "key-archil-mock"
REGION = "aws-us-east-1"
DISK_ID = re.compile(r"^dsk-[0-9a-f]{16}$")
ARN = "arn:aws:iam::123456789012:role/reader"
FIXTURE_DISK = "dsk-0123456789abcdef"
FIXTURE_TOKEN = "dtk-fixture-known-secret-0000000000000001"


@contextmanager
def sdk(url: str, key: str = DEFAULT_KEY, region: str = REGION, **kwargs) -> Iterator[Archil]:
    """An SDK client pointed at the mock, closed afterwards so its pooled
    connection does not outlive the server."""
    with Archil(api_key=key, region=region, base_url=url, **kwargs) as client:
        yield client


def parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, f"{text!r} has no UTC offset"
    return parsed


def write_fixture(tmp_path: Path, disks: list[dict], account: str = "default") -> str:
    path = tmp_path / "disks-fixture.json"
    path.write_text(json.dumps({"accounts": [{"name": account, "disks": disks}]}))
    return str(path)


def raw(
    url: str, method: str, path: str, key: str = DEFAULT_KEY, headers: Optional[dict] = None, **kwargs
) -> httpx.Response:
    """One request outside the SDK, for the envelope fields and requests the SDK
    cannot make (e.g. removing a user with no identifier)."""
    return httpx.request(method, f"{url}{path}", headers={"Authorization": key, **(headers or {})}, **kwargs)


class RecordingTransport(httpx.AsyncHTTPTransport):
    """A real HTTP transport that also records each exchange, so a test can see
    every status `wait_until_ready` polled. Handed to the SDK through its
    `_http_transport` hook (the one its own unit tests use); the SDK's request,
    envelope and polling code is unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[str, str, int, object]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        content = b"".join([chunk async for chunk in response.aiter_raw()])
        await response.aclose()
        copy = httpx.Response(response.status_code, headers=response.headers, content=content)
        copy.read()
        try:
            body = copy.json()
        except ValueError:
            body = None
        self.exchanges.append((request.method, request.url.path, response.status_code, body))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=content,
            request=request,
            extensions=response.extensions,
        )


@pytest.fixture
def server(start_mock):
    return start_mock()


@pytest.fixture
def client(server) -> Iterator[Archil]:
    with sdk(server.url) as c:
        yield c


def seeded(start_mock, tmp_path: Path, disks: list[dict], *args: str):
    return start_mock("--fixture", write_fixture(tmp_path, disks), *args)


# --- create / get -----------------------------------------------------------


def test_create_returns_the_disk_and_a_one_time_token(server, client):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = client.disks.create(name="data-1")
    after = datetime.now(timezone.utc)

    disk = created.disk
    assert DISK_ID.match(disk.id), disk.id
    assert disk.name == "data-1"
    assert disk.status == "available", "--disk-ready-ms defaults to 0"
    assert disk.region == REGION
    assert disk.provider == "aws"
    assert isinstance(disk.organization, str) and disk.organization
    assert before <= parse_time(disk.created_at) <= after
    assert disk.allowed_ips == []
    assert disk.capabilities == ["checkpoints"], "archil-managed storage supports checkpoints"

    # The default token user: its secret is in the create reply only.
    assert isinstance(created.token, str) and created.token.startswith("dtk-"), created.token
    assert len(created.token) >= len("dtk-") + 16
    assert isinstance(created.token_identifier, str) and created.token_identifier
    assert created.token_identifier not in created.token
    [user] = created.authorized_users
    assert user.type == "token"
    assert user.token == created.token
    assert user.identifier == created.token_identifier
    assert user.token_suffix == created.token[-4:]
    assert user.principal is None

    # The disk object never carries a token.
    [listed_user] = disk.authorized_users
    assert listed_user.token is None
    assert listed_user.identifier == created.token_identifier
    assert listed_user.type == "token"
    assert listed_user.token_suffix == created.token[-4:]
    wire = raw(server.url, "GET", f"/api/disks/{disk.id}").json()
    assert created.token not in json.dumps(wire)

    again = client.disks.get(disk.id)
    assert (again.id, again.name, again.organization, again.created_at, again.status) == (
        disk.id,
        disk.name,
        disk.organization,
        disk.created_at,
        "available",
    )


def test_two_disks_get_distinct_ids_and_tokens(client):
    a = client.disks.create(name="first")
    b = client.disks.create(name="second")
    assert a.disk.id != b.disk.id
    assert a.token != b.token
    assert a.token_identifier != b.token_identifier
    assert a.disk.organization == b.disk.organization


def test_create_with_a_bucket_allowed_ips_and_root_attrs(server, client):
    created = client.disks.create(
        name="byob",
        mounts=[
            S3Mount(
                bucket_name="my-bucket",
                access_key_id="AKIAEXAMPLEEXAMPLE00",
                secret_access_key="very-secret-access-key",
                bucket_prefix="data/",
            )
        ],
        allowed_ips=["10.0.0.0/8", "203.0.113.7"],
        root_attrs=RootAttrs(uid=1000, gid=1001, mode=0o750),
    )
    disk = client.disks.get(created.disk.id)
    [mount] = disk.mounts
    assert mount.type == "s3"
    assert mount.name == "my-bucket"
    assert mount.config is not None
    assert mount.config.bucket_name == "my-bucket"
    assert mount.config.bucket_prefix == "data/"
    assert disk.capabilities == [], "no checkpoints on bring-your-own buckets"
    assert disk.allowed_ips == ["10.0.0.0/8", "203.0.113.7"]
    assert disk.root_attrs == RootAttrs(uid=1000, gid=1001, mode=0o750)
    assert disk.get_allowed_ips() == ["10.0.0.0/8", "203.0.113.7"]

    wire = json.dumps(raw(server.url, "GET", f"/api/disks/{disk.id}").json())
    assert "very-secret-access-key" not in wire, "secrets are never echoed"


def test_create_is_idempotent_for_the_same_configuration(client):
    first = client.disks.create(name="same", allowed_ips=["10.1.0.0/16"])
    second = client.disks.create(name="same", allowed_ips=["10.1.0.0/16"])

    assert second.disk.id == first.disk.id
    assert second.token is None, "the token is shown once, on the first create"
    assert second.token_identifier is None
    assert all(u.token is None for u in second.authorized_users)
    assert first.token_identifier in {u.identifier for u in second.authorized_users}
    assert [d.id for d in client.disks.list(name="same")] == [first.disk.id]


def test_create_with_a_different_configuration_is_409(client):
    original = client.disks.create(name="taken", mounts=[S3Mount(bucket_name="bucket-a")])
    with pytest.raises(ArchilApiError) as err:
        client.disks.create(name="taken", mounts=[S3Mount(bucket_name="bucket-b")])
    assert err.value.status == 409
    assert str(err.value)

    with pytest.raises(ArchilApiError) as err:
        client.disks.create(name="taken")  # archil-managed instead of bucket-a
    assert err.value.status == 409

    [still] = client.disks.list(name="taken")
    assert still.id == original.disk.id
    assert still.mounts[0].name == "bucket-a"


@pytest.mark.parametrize(
    "name",
    ["", "has space", "slash/name", "n" * 101, "dot.name"],
    ids=["empty", "space", "slash", "101", "dot"],
)
def test_invalid_disk_names_are_400(client, name):
    with pytest.raises(ArchilApiError) as err:
        client.disks.create(name=name)
    assert err.value.status == 400
    assert client.disks.list() == []


def test_a_name_of_100_allowed_characters_is_accepted(client):
    name = "A-z_9" * 20
    assert client.disks.create(name=name).disk.name == name


def test_wait_until_ready_polls_through_creating(start_mock):
    server = start_mock("--disk-ready-ms", "1500")
    recorder = RecordingTransport()
    with sdk(server.url, _http_transport=recorder) as client:
        started = time.monotonic()
        created = client.disks.create(name="slow")
        assert created.disk.status == "creating"
        assert isinstance(created.token, str), "the token comes with the create reply, even while creating"
        assert client.disks.get(created.disk.id).status == "creating"

        ready = created.disk.wait_until_ready(timeout=20, poll_interval=0.1)
        elapsed = time.monotonic() - started

    assert ready.status == "available"
    assert ready.id == created.disk.id
    assert created.disk.status == "creating", "a Disk is an immutable snapshot"
    assert 1.45 <= elapsed < 10, elapsed

    seen = [
        body["data"]["status"]
        for method, path, status, body in recorder.exchanges
        if method == "GET" and path == f"/api/disks/{created.disk.id}" and status == 200
    ]
    # create's own GET, the test's GET, then the polls: creating until ready.
    assert seen[0] == "creating"
    assert seen[-1] == "available"
    assert seen.count("creating") >= 3, seen
    first_available = seen.index("available")
    assert set(seen[:first_available]) == {"creating"}
    assert set(seen[first_available:]) == {"available"}


def test_a_ready_delay_applies_to_each_disk_from_its_own_creation(start_mock):
    server = start_mock("--disk-ready-ms", "600")
    with sdk(server.url) as client:
        a = client.disks.create(name="a")
        time.sleep(0.7)
        b = client.disks.create(name="b")
        assert client.disks.get(a.disk.id).status == "available"
        assert b.disk.status == "creating"
        assert b.disk.wait_until_ready(timeout=10, poll_interval=0.05).status == "available"


@pytest.mark.parametrize("status", ["failed", "deleting"])
def test_wait_until_ready_raises_on_a_terminal_status(start_mock, tmp_path, status):
    server = seeded(start_mock, tmp_path, [{"name": "broken", "id": FIXTURE_DISK, "status": status}])
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)
        assert disk.status == status
        with pytest.raises(RuntimeError) as err:
            disk.wait_until_ready(timeout=5, poll_interval=0.05)
    assert status in str(err.value)


def test_a_pinned_creating_disk_never_becomes_ready(start_mock, tmp_path):
    server = seeded(start_mock, tmp_path, [{"name": "stuck", "id": FIXTURE_DISK, "status": "creating"}])
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)
        assert disk.status == "creating"
        with pytest.raises(TimeoutError):
            disk.wait_until_ready(timeout=0.5, poll_interval=0.1)
        assert client.disks.get(FIXTURE_DISK).status == "creating"


def test_the_region_flag_sets_region_and_provider(start_mock):
    server = start_mock("--region", "gcp-us-central1")
    with sdk(server.url, region="gcp-us-central1") as client:
        disk = client.disks.create(name="on-gcp").disk
        assert disk.region == "gcp-us-central1"
        assert disk.provider == "gcp"
        assert client.disks.get(disk.id).region == "gcp-us-central1"


# --- list -------------------------------------------------------------------


def test_list_walks_pages_and_list_pages_yields_them(server, client):
    made = [client.disks.create(name=f"disk-{i}").disk.id for i in range(7)]

    everything = client.disks.list()
    assert sorted(d.id for d in everything) == sorted(made)
    assert len(everything) == 7

    capped = client.disks.list(limit=5)
    assert len(capped) == 5
    assert len({d.id for d in capped}) == 5
    assert {d.id for d in capped} <= set(made)

    pages = list(client.disks.list_pages(page_size=3))
    assert [len(p.disks) for p in pages] == [3, 3, 1]
    assert pages[0].next_cursor and pages[1].next_cursor
    assert pages[0].next_cursor != pages[1].next_cursor
    assert pages[2].next_cursor is None, "no nextCursor on the last page"
    walked = [d.id for p in pages for d in p.disks]
    assert sorted(walked) == sorted(made), "every disk exactly once"
    assert len(set(walked)) == 7

    # A cursor resumes where its page ended, through list() and list_pages().
    rest = client.disks.list(cursor=pages[0].next_cursor)
    assert [d.id for d in rest] == walked[3:]
    resumed = list(client.disks.list_pages(cursor=pages[1].next_cursor, page_size=3))
    assert [[d.id for d in p.disks] for p in resumed] == [walked[6:]]

    # The envelope: nextCursor is top-level, next to data.
    body = raw(server.url, "GET", "/api/disks", params={"limit": 3}).json()
    assert body["success"] is True
    assert [d["id"] for d in body["data"]] == walked[:3]
    assert isinstance(body["nextCursor"], str) and body["nextCursor"]


def test_list_on_an_empty_account_is_an_empty_array(server, client):
    assert client.disks.list() == []
    assert [p.disks for p in client.disks.list_pages()] == [[]]
    body = raw(server.url, "GET", "/api/disks").json()
    assert body == {"success": True, "data": []}


def test_limit_above_100_is_clamped_not_rejected(server, client):
    made = {client.disks.create(name=f"n{i:03d}").disk.id for i in range(103)}
    resp = raw(server.url, "GET", "/api/disks", params={"limit": 500})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert len(body["data"]) == 100
    assert body["nextCursor"]
    assert {d.id for d in client.disks.list()} == made
    assert len(client.disks.list(name="n042", limit=500)) == 1


def test_the_name_filter_is_an_exact_match(client):
    made = {name: client.disks.create(name=name).disk.id for name in ["logs", "logs-old", "metrics"]}
    [logs] = client.disks.list(name="logs")
    assert logs.id == made["logs"]
    assert logs.name == "logs"
    assert [d.id for d in client.disks.list(name="logs-old")] == [made["logs-old"]]
    assert client.disks.list(name="log") == []
    assert client.disks.list(name="LOGS") == []
    assert client.disks.list(name="nothing-here") == []


def test_accounts_see_only_their_own_disks(start_mock):
    alice_key, bob_key = "key-alice-disks-0001", "key-bob-disks-0002"
    server = start_mock("--api-key", f"alice={alice_key}", "--api-key", f"bob={bob_key}")
    with sdk(server.url, alice_key) as alice, sdk(server.url, bob_key) as bob:
        mine = alice.disks.create(name="shared-name").disk
        assert bob.disks.list() == []
        with pytest.raises(ArchilApiError) as err:
            bob.disks.get(mine.id)
        assert err.value.status == 404

        theirs = bob.disks.create(name="shared-name")
        assert theirs.token is not None, "a name in another account does not conflict"
        assert theirs.disk.id != mine.id
        assert theirs.disk.organization != mine.organization

        resp = raw(server.url, "DELETE", f"/api/disks/{mine.id}", key=bob_key)
        assert resp.status_code == 404, resp.text
        assert [d.id for d in alice.disks.list()] == [mine.id]


def test_an_unknown_key_is_401(server):
    with sdk(server.url, "key-never-issued-0000") as stranger:
        with pytest.raises(ArchilApiError) as err:
            stranger.disks.list()
        assert err.value.status == 401
        with pytest.raises(ArchilApiError) as err:
            stranger.disks.create(name="nope")
        assert err.value.status == 401


# --- users and tokens -------------------------------------------------------


def test_add_users_create_tokens_and_remove_them(server, client):
    created = client.disks.create(name="shared")
    disk = created.disk
    before = datetime.now(timezone.utc).replace(microsecond=0)

    ci = disk.add_user(TokenUser(nickname="ci"))
    assert ci.type == "token"
    assert ci.nickname == "ci"
    assert isinstance(ci.token, str) and ci.token.startswith("dtk-"), ci.token
    assert ci.token_suffix == ci.token[-4:]
    assert isinstance(ci.identifier, str) and ci.identifier
    assert ci.principal is None
    assert before <= parse_time(ci.created_at) <= datetime.now(timezone.utc)

    deploy = disk.create_token("deploy")
    assert deploy.nickname == "deploy"
    assert deploy.token.startswith("dtk-")
    assert len({created.token, ci.token, deploy.token}) == 3, "every token is new"
    assert len({created.token_identifier, ci.identifier, deploy.identifier}) == 3

    sts = disk.add_user(AwsStsUser(principal=ARN))
    assert sts.type == "awssts"
    assert sts.principal == ARN
    assert sts.identifier == ARN
    assert sts.token is None, "no secret for an IAM principal"

    users = {u.identifier: u for u in disk.refresh().authorized_users}
    assert set(users) == {created.token_identifier, ci.identifier, deploy.identifier, ARN}
    assert all(u.token is None for u in users.values()), "tokens are never listed"
    assert users[ci.identifier].nickname == "ci"
    assert users[ci.identifier].token_suffix == ci.token[-4:]
    assert users[ARN].type == "awssts"
    wire = json.dumps(raw(server.url, "GET", f"/api/disks/{disk.id}").json())
    for secret in (created.token, ci.token, deploy.token):
        assert secret not in wire

    disk.remove_user("token", ci.identifier)
    disk.remove_token_user(deploy.identifier)
    disk.remove_user("awssts", ARN)
    assert [u.identifier for u in disk.refresh().authorized_users] == [created.token_identifier]

    with pytest.raises(ArchilApiError) as err:
        disk.remove_user("token", ci.identifier)
    assert err.value.status == 404
    with pytest.raises(ArchilApiError) as err:
        disk.remove_user("awssts", ARN)
    assert err.value.status == 404
    # The user type in the path must match the user's.
    with pytest.raises(ArchilApiError) as err:
        disk.remove_user("awssts", created.token_identifier)
    assert err.value.status == 404
    assert [u.identifier for u in disk.refresh().authorized_users] == [created.token_identifier]


def test_remove_user_needs_an_identifier_or_principal(server, client):
    disk = client.disks.create(name="needs-id").disk
    resp = raw(server.url, "DELETE", f"/api/disks/{disk.id}/users/token")
    assert resp.status_code == 400, resp.text
    assert resp.json()["success"] is False
    assert len(disk.refresh().authorized_users) == 1

    # The deprecated `principal` parameter still removes an awssts user.
    disk.add_user(AwsStsUser(principal=ARN))
    resp = raw(server.url, "DELETE", f"/api/disks/{disk.id}/users/awssts", params={"principal": ARN})
    assert resp.status_code == 200, resp.text
    assert isinstance(resp.json()["data"]["message"], str)
    assert ARN not in {u.identifier for u in disk.refresh().authorized_users}


@pytest.mark.parametrize(
    "body",
    [
        {"type": "token"},
        {"type": "token", "nickname": "n" * 256},
        {"type": "awssts"},
        {"type": "ftp", "nickname": "x"},
    ],
    ids=["token-no-nickname", "token-nickname-256", "awssts-no-principal", "bad-type"],
)
def test_invalid_users_are_400(client, body):
    disk = client.disks.create(name="strict").disk
    with pytest.raises(ArchilApiError) as err:
        disk.add_user(body)
    assert err.value.status == 400
    assert len(disk.refresh().authorized_users) == 1, "nothing was added"


def test_users_on_an_unknown_disk_are_404(client):
    disk = client.disks.create(name="gone").disk
    disk.delete()
    with pytest.raises(ArchilApiError) as err:
        disk.create_token("late")
    assert err.value.status == 404
    with pytest.raises(ArchilApiError) as err:
        disk.remove_user("awssts", ARN)
    assert err.value.status == 404


def test_fixture_users_mounts_and_attributes(start_mock, tmp_path):
    server = seeded(
        start_mock,
        tmp_path,
        [
            {
                "name": "seeded",
                "id": FIXTURE_DISK,
                "mounts": [{"type": "s3", "bucketName": "b"}],
                "allowedIps": ["10.0.0.0/8"],
                "rootAttrs": {"uid": 1000, "gid": 1000, "mode": 493},
                "users": [
                    {"type": "token", "nickname": "ci", "token": FIXTURE_TOKEN},
                    {"type": "awssts", "principal": ARN},
                ],
            }
        ],
    )
    with sdk(server.url) as client:
        [disk] = client.disks.list()
        assert disk.id == FIXTURE_DISK
        assert disk.name == "seeded"
        assert disk.status == "available"
        assert [m.name for m in disk.mounts] == ["b"]
        assert disk.mounts[0].type == "s3"
        assert disk.allowed_ips == ["10.0.0.0/8"]
        assert disk.root_attrs == RootAttrs(uid=1000, gid=1000, mode=493)
        token_user = next(u for u in disk.authorized_users if u.type == "token")
        sts_user = next(u for u in disk.authorized_users if u.type == "awssts")
        assert len(disk.authorized_users) == 2
        assert token_user.nickname == "ci"
        assert token_user.token is None
        assert token_user.token_suffix == FIXTURE_TOKEN[-4:]
        assert (sts_user.principal, sts_user.identifier) == (ARN, ARN)
        assert FIXTURE_TOKEN not in json.dumps(raw(server.url, "GET", f"/api/disks/{FIXTURE_DISK}").json())

        disk.remove_user("token", token_user.identifier)
        assert [u.type for u in disk.refresh().authorized_users] == ["awssts"]


# --- allowed IPs ------------------------------------------------------------


def test_allowed_ips_get_set_add_remove(client):
    disk = client.disks.create(name="fenced").disk
    assert disk.get_allowed_ips() == []

    assert disk.set_allowed_ips(["10.0.0.0/8", "203.0.113.7"]) == ["10.0.0.0/8", "203.0.113.7"]
    assert disk.get_allowed_ips() == ["10.0.0.0/8", "203.0.113.7"]

    assert disk.add_allowed_ip("198.51.100.0/24") == ["10.0.0.0/8", "203.0.113.7", "198.51.100.0/24"]
    assert disk.add_allowed_ip("203.0.113.7") == ["10.0.0.0/8", "203.0.113.7", "198.51.100.0/24"]
    assert disk.remove_allowed_ip("10.0.0.0/8") == ["203.0.113.7", "198.51.100.0/24"]
    assert disk.refresh().allowed_ips == ["203.0.113.7", "198.51.100.0/24"]
    assert client.disks.get(disk.id).get_allowed_ips() == ["203.0.113.7", "198.51.100.0/24"]

    assert disk.add_allowed_ip("2001:db8::/32")[-1] == "2001:db8::/32"
    assert disk.set_allowed_ips([]) == []
    assert disk.get_allowed_ips() == []
    assert disk.refresh().allowed_ips == []


@pytest.mark.parametrize("bad", ["not-an-ip", "10.0.0.0/33", "256.1.1.1", ""])
def test_invalid_allowed_ips_are_400_and_change_nothing(client, bad):
    disk = client.disks.create(name="fenced").disk
    disk.set_allowed_ips(["10.0.0.0/8"])
    with pytest.raises(ArchilApiError) as err:
        disk.set_allowed_ips(["192.0.2.1", bad])
    assert err.value.status == 400
    assert disk.get_allowed_ips() == ["10.0.0.0/8"]


def test_allowed_ips_of_an_unknown_disk_are_404(client):
    disk = client.disks.create(name="short-lived").disk
    disk.delete()
    for call in (disk.get_allowed_ips, lambda: disk.set_allowed_ips(["10.0.0.1"])):
        with pytest.raises(ArchilApiError) as err:
            call()
        assert err.value.status == 404


# --- delegations ------------------------------------------------------------


def test_list_and_revoke_seeded_delegations(start_mock, tmp_path):
    server = seeded(
        start_mock,
        tmp_path,
        [
            {
                "name": "busy",
                "id": FIXTURE_DISK,
                "delegations": [
                    {
                        "clientId": "42",
                        "inodeId": 7,
                        "path": "dir/file.txt",
                        "isPending": False,
                        "isOrphaned": False,
                    },
                    {"clientId": "43", "inodeId": 9, "isPending": True, "isOrphaned": True},
                ],
            }
        ],
    )
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)
        first, second = sorted(disk.list_delegations(), key=lambda d: d.client_id)
        assert first == Delegation(
            client_id="42", inode_id=7, is_pending=False, is_orphaned=False, path="dir/file.txt"
        )
        assert second == Delegation(client_id="43", inode_id=9, is_pending=True, is_orphaned=True, path=None)
        body = raw(server.url, "GET", f"/api/disks/{FIXTURE_DISK}/delegations").json()
        assert "path" not in next(d for d in body["data"]["delegations"] if d["clientId"] == "43")

        disk.revoke_delegation(first)
        assert disk.list_delegations() == [second]

        with pytest.raises(ArchilApiError) as err:
            disk.revoke_delegation(first)
        assert err.value.status == 404
        # clientId and inodeId name one delegation together.
        with pytest.raises(ArchilApiError) as err:
            disk.revoke_delegation(
                Delegation(client_id="42", inode_id=9, is_pending=False, is_orphaned=False)
            )
        assert err.value.status == 404
        assert disk.list_delegations() == [second]

        resp = raw(
            server.url,
            "POST",
            f"/api/disks/{FIXTURE_DISK}/revoke-delegation",
            json={"clientId": 43, "inodeId": 9},
        )
        assert resp.status_code == 400, resp.text
        assert disk.list_delegations() == [second]

        disk.revoke_delegation(second)
        assert disk.list_delegations() == []


def test_a_new_disk_has_no_delegations(client):
    disk = client.disks.create(name="quiet").disk
    assert disk.list_delegations() == []


# --- branches ---------------------------------------------------------------

BRANCHED = {
    "name": "forked",
    "id": FIXTURE_DISK,
    "checkpoints": [{"name": "nightly"}, {"name": "cp-on-branch", "branch": "feature"}],
    "branches": [{"branch_name": "feature", "from_checkpoint_name": "nightly"}],
}


def test_branches_list_get_create(start_mock, tmp_path):
    server = seeded(start_mock, tmp_path, [BRANCHED])
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)

        [feature] = disk.list_branches()
        assert feature.branch_name == "feature"
        assert feature.root_filesystem_id == FIXTURE_DISK
        assert feature.from_checkpoint_name == "nightly"
        assert feature.from_checkpoint_filesystem_id == FIXTURE_DISK
        assert isinstance(feature.filesystem_id, str) and feature.filesystem_id
        assert feature.filesystem_id != FIXTURE_DISK
        parse_time(feature.created_at)
        assert disk.get_branch("feature") == feature

        before = datetime.now(timezone.utc).replace(microsecond=0)
        exp = disk.create_branch("exp", "nightly")
        assert exp.branch_name == "exp"
        assert exp.root_filesystem_id == FIXTURE_DISK
        assert exp.from_checkpoint_name == "nightly"
        assert exp.from_checkpoint_filesystem_id == FIXTURE_DISK
        assert exp.filesystem_id not in {FIXTURE_DISK, feature.filesystem_id}
        assert before <= parse_time(exp.created_at) <= datetime.now(timezone.utc)
        assert disk.get_branch("exp") == exp

        nested = disk.create_branch("nested", "cp-on-branch", from_branch="feature")
        assert nested.from_checkpoint_name == "cp-on-branch"
        assert nested.from_checkpoint_filesystem_id == feature.filesystem_id
        assert nested.root_filesystem_id == FIXTURE_DISK
        assert len({feature.filesystem_id, exp.filesystem_id, nested.filesystem_id}) == 3

        assert sorted(b.branch_name for b in disk.list_branches()) == ["exp", "feature", "nested"]


def test_branch_names_are_unique_unless_the_idempotency_key_matches(start_mock, tmp_path):
    server = seeded(start_mock, tmp_path, [BRANCHED])
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)
        key = str(uuid.uuid4())
        made = disk.create_branch("retry-me", "nightly", idempotency_key=key)
        again = disk.create_branch("retry-me", "nightly", idempotency_key=key)
        assert again == made, "the same key and body return the branch it created"

        # A fresh key (the SDK's default) for an existing name is a conflict,
        # including a name taken by a fixture branch.
        for name in ("retry-me", "feature"):
            with pytest.raises(ArchilApiError) as err:
                disk.create_branch(name, "nightly")
            assert err.value.status == 409
        # The same key with a different body is a conflict too.
        with pytest.raises(ArchilApiError) as err:
            disk.create_branch("retry-me", "cp-on-branch", from_branch="feature", idempotency_key=key)
        assert err.value.status == 409

        assert sorted(b.branch_name for b in disk.list_branches()) == ["feature", "retry-me"]

        resp = raw(
            server.url,
            "POST",
            f"/api/disks/{FIXTURE_DISK}/branches",
            json={"branch_name": "retry-me", "from_checkpoint_name": "nightly"},
            headers={"Idempotency-Key": key},
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["data"]["filesystem_id"] == made.filesystem_id


def test_branch_errors(start_mock, tmp_path):
    server = seeded(start_mock, tmp_path, [BRANCHED])
    with sdk(server.url) as client:
        disk = client.disks.get(FIXTURE_DISK)
        with pytest.raises(ArchilApiError) as err:
            disk.create_branch("x", "no-such-checkpoint")
        assert err.value.status == 404
        with pytest.raises(ArchilApiError) as err:
            disk.create_branch("x", "cp-on-branch")  # that checkpoint is on `feature`, not the root
        assert err.value.status == 404
        with pytest.raises(ArchilApiError) as err:
            disk.create_branch("x", "nightly", from_branch="no-such-branch")
        assert err.value.status == 404
        with pytest.raises(ArchilApiError) as err:
            disk.create_branch("bad name", "nightly")
        assert err.value.status == 400
        with pytest.raises(ArchilApiError) as err:
            disk.get_branch("missing")
        assert err.value.status == 404
        assert [b.branch_name for b in disk.list_branches()] == ["feature"]

        fresh = client.disks.create(name="no-branches").disk
        assert fresh.list_branches() == []


# --- delete -----------------------------------------------------------------


def test_delete_removes_the_disk(server, client):
    created = client.disks.create(name="doomed")
    keep = client.disks.create(name="kept").disk
    disk = created.disk

    resp_before = raw(server.url, "GET", f"/api/disks/{disk.id}")
    assert resp_before.status_code == 200
    disk.delete()

    with pytest.raises(ArchilApiError) as err:
        client.disks.get(disk.id)
    assert err.value.status == 404
    assert str(err.value)
    with pytest.raises(ArchilApiError) as err:
        disk.delete()
    assert err.value.status == 404
    assert [d.id for d in client.disks.list()] == [keep.id]
    assert client.disks.list(name="doomed") == []

    reborn = client.disks.create(name="doomed")
    assert reborn.disk.id != disk.id, "the name is free again and gets a new disk"
    assert reborn.token is not None and reborn.token != created.token


def test_delete_answers_200_with_success(server, client):
    disk = client.disks.create(name="plain").disk
    resp = raw(server.url, "DELETE", f"/api/disks/{disk.id}")
    assert resp.status_code == 200
    assert resp.json() == {"success": True}


def test_unknown_and_malformed_ids(server, client):
    with pytest.raises(ArchilApiError) as err:
        client.disks.get("dsk-0000000000000000")
    assert err.value.status == 404
    for bad in ("not-a-disk", "dsk-0123456789ABCDEF", "dsk-123"):
        with pytest.raises(ArchilApiError) as err:
            client.disks.get(bad)
        assert err.value.status == 400, bad
        resp = raw(server.url, "DELETE", f"/api/disks/{bad}")
        assert resp.status_code == 400, (bad, resp.text)

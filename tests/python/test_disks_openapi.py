"""The generated client (`archil-openapi` on PyPI), unmodified, against
archil-mock's disk endpoints: its `disks`, `disk_users` and
`disk_configuration` modules, with `raise_on_unexpected_status=True` (so any
status the spec does not list for an operation fails the test) and the client's
default `Authorization: Bearer <key>` header. Every response is parsed into the
spec's models. The wire contract is shared/contracts/disks.md."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from archil_openapi import AuthenticatedClient, Client
from archil_openapi.api.disk_configuration import (
    get_allowed_i_ps,
    list_delegations,
    revoke_delegation,
    set_allowed_i_ps,
)
from archil_openapi.api.disk_users import add_disk_user, remove_disk_user
from archil_openapi.api.disks import (
    create_branch,
    create_disk,
    delete_disk,
    get_branch,
    get_disk,
    list_branches,
    list_disks,
)
from archil_openapi.errors import UnexpectedStatus
from archil_openapi.models import (
    ApiResponseAllowedIPs,
    ApiResponseAuthorizedUser,
    ApiResponseCreateDisk,
    ApiResponseDelegations,
    ApiResponseDisk,
    ApiResponseDiskList,
    ApiResponseEmpty,
    ApiResponseMessage,
    AuthorizedUser,
    AuthorizedUserType,
    AwsStsUser,
    AwsStsUserType,
    BranchApiResponse,
    BranchListApiResponse,
    BranchResponse,
    CreateBranchRequest,
    CreateDiskRequest,
    DelegationEntry,
    DiskResponse,
    DiskResponseCapabilitiesItem,
    DiskResponseStatus,
    ErrorResponse,
    MountResponseType,
    RemoveDiskUserUserType,
    RevokeDelegationRequest,
    RootAttrs,
    S3,
    S3Type,
    SetAllowedIPsBody,
    TokenUser,
    TokenUserType,
)
from archil_openapi.types import UNSET

DEFAULT_KEY = "key-archil-mock"
DISK_ID = re.compile(r"^dsk-[0-9a-f]{16}$")
ARN = "arn:aws:iam::123456789012:role/reader"
FIXTURE_DISK = "dsk-00000000000000aa"


def client_for(url: str, key: str = DEFAULT_KEY, **kwargs) -> AuthenticatedClient:
    # The default prefix: `Authorization: Bearer key-…`, as the generated
    # client's README uses it. The mock accepts it as well as the raw key.
    return AuthenticatedClient(base_url=url, token=key, raise_on_unexpected_status=True, **kwargs)


def write_fixture(tmp_path: Path, disks: list[dict]) -> str:
    path = tmp_path / "disks-fixture.json"
    path.write_text(json.dumps({"accounts": [{"name": "default", "disks": disks}]}))
    return str(path)


@pytest.fixture
def oa(start_mock) -> Iterator[AuthenticatedClient]:
    server = start_mock()
    with client_for(server.url) as client:
        yield client


def create(client: AuthenticatedClient, name: str, expect: int = 201, **fields) -> ApiResponseCreateDisk:
    resp = create_disk.sync_detailed(client=client, body=CreateDiskRequest(name=name, **fields))
    assert resp.status_code == expect, resp.content
    assert isinstance(resp.parsed, ApiResponseCreateDisk)
    assert resp.parsed.success is True
    assert DISK_ID.match(resp.parsed.data.disk_id), resp.parsed.data.disk_id
    return resp.parsed


def get(client: AuthenticatedClient, disk_id: str) -> DiskResponse:
    resp = get_disk.sync_detailed(disk_id, client=client)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseDisk)
    assert resp.parsed.success is True
    assert isinstance(resp.parsed.data, DiskResponse)
    return resp.parsed.data


def error(resp, status: int) -> ErrorResponse:
    assert resp.status_code == status, resp.content
    assert isinstance(resp.parsed, ErrorResponse), resp.content
    assert resp.parsed.success is False
    assert isinstance(resp.parsed.error, str) and resp.parsed.error
    return resp.parsed


def list_page(client: AuthenticatedClient, **params) -> ApiResponseDiskList:
    resp = list_disks.sync_detailed(client=client, **params)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseDiskList)
    assert resp.parsed.success is True
    return resp.parsed


# --- disks ------------------------------------------------------------------


def test_create_disk_parses_and_the_disk_is_fully_typed(oa):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    created = create(oa, "oa-data")
    after = datetime.now(timezone.utc)

    [user] = created.data.authorized_users
    assert isinstance(user, AuthorizedUser)
    assert user.type_ == AuthorizedUserType.TOKEN
    assert isinstance(user.token, str) and user.token.startswith("dtk-")
    assert isinstance(user.identifier, str) and user.identifier
    assert user.token_suffix == user.token[-4:]
    assert user.principal is UNSET

    disk = get(oa, created.data.disk_id)
    assert disk.id == created.data.disk_id
    assert disk.name == "oa-data"
    assert isinstance(disk.organization, str) and disk.organization
    assert disk.status == DiskResponseStatus.AVAILABLE
    assert disk.provider == "aws"
    assert disk.region == "aws-us-east-1"
    assert isinstance(disk.created_at, datetime)
    assert before <= disk.created_at <= after
    assert disk.sandbox_disk is False
    assert disk.capabilities == [DiskResponseCapabilitiesItem.CHECKPOINTS]
    assert disk.allowed_ips == []
    [listed] = disk.authorized_users
    assert listed.identifier == user.identifier
    assert listed.token is UNSET, "a disk never lists a token"
    assert listed.token_suffix == user.token_suffix
    assert isinstance(listed.created_at, datetime)
    assert disk.last_accessed is UNSET, "a disk nobody mounted has no lastAccessed"
    assert isinstance(disk.active_data_bytes, int) and isinstance(disk.total_data_bytes, int)
    assert disk.additional_properties["dataSize"] == disk.active_data_bytes, "the published spec's size field"
    assert not disk.additional_properties.get("lastAccessed")


def test_create_disk_with_mount_allowed_ips_and_root_attrs(oa):
    created = create(
        oa,
        "oa-byob",
        mounts=[
            S3(
                type_=S3Type.S3,
                bucket_name="my-bucket",
                bucket_prefix="logs/",
                access_key_id="AKIA0",
                secret_access_key="s3cr3t",
            )
        ],
        allowed_ips=["203.0.113.0/24"],
        root_attrs=RootAttrs(uid=1000, gid=1000, mode=0o700),
    )
    disk = get(oa, created.data.disk_id)
    [mount] = disk.mounts
    assert mount.type_ == MountResponseType.S3
    assert mount.name == "my-bucket"
    assert mount.config.bucket_name == "my-bucket"
    assert mount.config.bucket_prefix == "logs/"
    assert disk.capabilities == []
    assert disk.allowed_ips == ["203.0.113.0/24"]
    assert isinstance(disk.root_attrs, RootAttrs)
    assert (disk.root_attrs.uid, disk.root_attrs.gid, disk.root_attrs.mode) == (1000, 1000, 0o700)


def test_create_disk_200_for_the_same_config_409_for_another(oa):
    first = create(oa, "oa-same", mounts=[S3(type_=S3Type.S3, bucket_name="a")])
    again = create(oa, "oa-same", expect=200, mounts=[S3(type_=S3Type.S3, bucket_name="a")])
    assert again.data.disk_id == first.data.disk_id
    assert all(u.token is UNSET for u in again.data.authorized_users)

    resp = create_disk.sync_detailed(
        client=oa, body=CreateDiskRequest(name="oa-same", mounts=[S3(type_=S3Type.S3, bucket_name="b")])
    )
    error(resp, 409)
    assert [d.id for d in list_page(oa).data] == [first.data.disk_id]


def test_deprecated_auth_methods_replace_the_default_token_user(oa):
    none = create(oa, "oa-no-users", auth_methods=[])
    assert none.data.authorized_users == []
    assert get(oa, none.data.disk_id).authorized_users == []

    both = create(
        oa,
        "oa-own-users",
        auth_methods=[
            AwsStsUser(type_=AwsStsUserType.AWSSTS, principal=ARN),
            TokenUser(type_=TokenUserType.TOKEN, nickname="robot"),
        ],
    )
    by_type = {u.type_: u for u in both.data.authorized_users}
    assert set(by_type) == {AuthorizedUserType.AWSSTS, AuthorizedUserType.TOKEN}
    assert by_type[AuthorizedUserType.AWSSTS].identifier == ARN
    assert by_type[AuthorizedUserType.AWSSTS].token is UNSET
    assert by_type[AuthorizedUserType.TOKEN].nickname == "robot"
    assert by_type[AuthorizedUserType.TOKEN].token.startswith("dtk-")
    listed = get(oa, both.data.disk_id).authorized_users
    assert sorted(u.identifier for u in listed) == sorted(u.identifier for u in both.data.authorized_users)


def test_create_disk_rejects_invalid_input_with_400(oa):
    error(create_disk.sync_detailed(client=oa, body=CreateDiskRequest(name="bad name")), 400)
    error(
        create_disk.sync_detailed(
            client=oa, body=CreateDiskRequest(name="ok", root_attrs=RootAttrs(mode=0o4755))
        ),
        400,
    )
    error(
        create_disk.sync_detailed(
            client=oa, body=CreateDiskRequest(name="ok", root_attrs=RootAttrs(uid=4294967295))
        ),
        400,
    )
    error(
        create_disk.sync_detailed(
            client=oa,
            body=CreateDiskRequest(
                name="ok", mounts=[S3(type_=S3Type.S3, bucket_name="a"), S3(type_=S3Type.S3, bucket_name="b")]
            ),
        ),
        400,
    )
    assert list_page(oa).data == []


def test_list_disks_pages_with_limit_and_cursor(oa):
    made = [create(oa, f"oa-{i}").data.disk_id for i in range(5)]

    ids: list[str] = []
    sizes: list[int] = []
    cursors: list[str] = []
    cursor = UNSET
    while True:
        page = list_page(oa, limit=2, cursor=cursor)
        assert all(isinstance(d, DiskResponse) and d.sandbox_disk is False for d in page.data)
        ids += [d.id for d in page.data]
        sizes.append(len(page.data))
        if page.next_cursor is UNSET:
            break
        assert isinstance(page.next_cursor, str) and page.next_cursor
        cursors.append(page.next_cursor)
        cursor = page.next_cursor
        assert len(sizes) < 10, "the walk does not end"
    assert sizes == [2, 2, 1]
    assert len(set(cursors)) == 2
    assert sorted(ids) == sorted(made) and len(set(ids)) == 5

    # short=false is always sent by this client; the others are accepted too.
    everything = list_page(oa)
    assert sorted(d.id for d in everything.data) == sorted(made)
    assert everything.next_cursor is UNSET
    assert everything.total is UNSET, "total only with short=true"
    short = list_page(oa, short=True)
    assert short.total == 5
    assert len(list_page(oa, limit=500).data) == 5, "limit above 100 is clamped, not rejected"
    list_page(oa, q="oa-")

    [named] = list_page(oa, name="oa-3").data
    assert named.id == made[3]
    assert list_page(oa, name="oa-").data == []


def test_a_creating_disk_becomes_available(start_mock):
    server = start_mock("--disk-ready-ms", "800")
    with client_for(server.url) as client:
        disk_id = create(client, "oa-slow").data.disk_id
        assert get(client, disk_id).status == DiskResponseStatus.CREATING
        [listed] = list_page(client).data
        assert listed.status == DiskResponseStatus.CREATING
        deadline = datetime.now() + timedelta(seconds=10)
        while get(client, disk_id).status == DiskResponseStatus.CREATING:
            assert datetime.now() < deadline, "still creating after 10 s"
            time.sleep(0.05)
        assert get(client, disk_id).status == DiskResponseStatus.AVAILABLE


def test_delete_disk(oa):
    disk_id = create(oa, "oa-doomed").data.disk_id
    resp = delete_disk.sync_detailed(disk_id, client=oa)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseEmpty)
    assert resp.parsed.success is True

    error(get_disk.sync_detailed(disk_id, client=oa), 404)
    error(delete_disk.sync_detailed(disk_id, client=oa), 404)
    assert list_page(oa).data == []

    error(get_disk.sync_detailed("not-a-disk-id", client=oa), 400)
    error(delete_disk.sync_detailed("not-a-disk-id", client=oa), 400)
    error(get_disk.sync_detailed("dsk-ffffffffffffffff", client=oa), 404)


def test_auth_bearer_raw_and_missing(start_mock):
    server = start_mock()
    with client_for(server.url) as bearer:
        disk_id = create(bearer, "oa-auth").data.disk_id
    with AuthenticatedClient(
        base_url=server.url, token=DEFAULT_KEY, prefix="", raise_on_unexpected_status=True
    ) as raw:
        assert [d.id for d in list_page(raw).data] == [disk_id]
    with client_for(server.url, "key-never-issued-0000") as stranger:
        error(list_disks.sync_detailed(client=stranger), 401)
        error(get_disk.sync_detailed(disk_id, client=stranger), 401)
    with Client(base_url=server.url, raise_on_unexpected_status=True) as anonymous:
        error(list_disks.sync_detailed(client=anonymous), 401)


# --- disk users -------------------------------------------------------------


def test_add_and_remove_disk_users(oa):
    created = create(oa, "oa-users")
    disk_id = created.data.disk_id
    before = datetime.now(timezone.utc).replace(microsecond=0)

    resp = add_disk_user.sync_detailed(
        disk_id, client=oa, body=TokenUser(type_=TokenUserType.TOKEN, nickname="ci")
    )
    assert resp.status_code == 201, resp.content
    assert isinstance(resp.parsed, ApiResponseAuthorizedUser)
    ci = resp.parsed.data
    assert ci.type_ == AuthorizedUserType.TOKEN
    assert ci.nickname == "ci"
    assert isinstance(ci.token, str) and ci.token.startswith("dtk-")
    assert ci.token != created.data.authorized_users[0].token
    assert ci.token_suffix == ci.token[-4:]
    assert isinstance(ci.identifier, str) and ci.identifier != created.data.authorized_users[0].identifier
    assert isinstance(ci.created_at, datetime) and ci.created_at >= before

    resp = add_disk_user.sync_detailed(
        disk_id, client=oa, body=AwsStsUser(type_=AwsStsUserType.AWSSTS, principal=ARN)
    )
    assert resp.status_code == 201, resp.content
    sts = resp.parsed.data
    assert sts.type_ == AuthorizedUserType.AWSSTS
    assert sts.principal == ARN
    assert sts.identifier == ARN
    assert sts.token is UNSET

    users = {u.identifier: u for u in get(oa, disk_id).authorized_users}
    assert set(users) == {created.data.authorized_users[0].identifier, ci.identifier, ARN}
    assert all(u.token is UNSET for u in users.values())

    resp = remove_disk_user.sync_detailed(
        disk_id, RemoveDiskUserUserType.TOKEN, client=oa, identifier=ci.identifier
    )
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseMessage)
    assert resp.parsed.success is True
    assert isinstance(resp.parsed.data.message, str) and resp.parsed.data.message

    resp = remove_disk_user.sync_detailed(disk_id, RemoveDiskUserUserType.AWSSTS, client=oa, principal=ARN)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseMessage)
    assert {u.identifier for u in get(oa, disk_id).authorized_users} == {
        created.data.authorized_users[0].identifier
    }

    error(remove_disk_user.sync_detailed(disk_id, RemoveDiskUserUserType.TOKEN, client=oa), 400)
    # 404 is not in the spec for removeDiskUser, so this client raises on it.
    with pytest.raises(UnexpectedStatus) as err:
        remove_disk_user.sync_detailed(
            disk_id, RemoveDiskUserUserType.TOKEN, client=oa, identifier=ci.identifier
        )
    assert err.value.status_code == 404


def test_add_disk_user_with_the_newer_fields(oa):
    disk_id = create(oa, "oa-ttl").data.disk_id
    before = datetime.now(timezone.utc)
    resp = add_disk_user.sync_detailed(
        disk_id,
        client=oa,
        body=TokenUser(type_=TokenUserType.TOKEN, nickname="temp", ttl="1h", one_use=True, read_only=True),
    )
    assert resp.status_code == 201, resp.content
    user = resp.parsed.data
    assert isinstance(user.token, str) and user.token.startswith("dtk-")
    assert user.one_use is True
    assert user.read_only is True
    assert isinstance(user.expires_at, datetime)
    assert (
        before + timedelta(minutes=59)
        <= user.expires_at
        <= datetime.now(timezone.utc) + timedelta(minutes=61)
    )

    # ttl and expiresAt are mutually exclusive.
    resp = add_disk_user.sync_detailed(
        disk_id,
        client=oa,
        body=TokenUser(
            type_=TokenUserType.TOKEN,
            nickname="both",
            ttl="1h",
            expires_at=datetime.now(timezone.utc) + timedelta(hours=2),
        ),
    )
    error(resp, 400)
    error(
        add_disk_user.sync_detailed(
            disk_id, client=oa, body=TokenUser(type_=TokenUserType.TOKEN, nickname="x", ttl="9000h")
        ),
        400,
    )
    assert {u.nickname for u in get(oa, disk_id).authorized_users} >= {"temp"}
    assert "both" not in {u.nickname for u in get(oa, disk_id).authorized_users}


# --- disk configuration -----------------------------------------------------


def test_get_and_set_allowed_ips(oa):
    disk_id = create(oa, "oa-ips").data.disk_id

    resp = get_allowed_i_ps.sync_detailed(disk_id, client=oa)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseAllowedIPs)
    assert resp.parsed.data.allowed_ips == []

    resp = set_allowed_i_ps.sync_detailed(
        disk_id, client=oa, body=SetAllowedIPsBody(allowed_ips=["203.0.113.0/24", "198.51.100.42"])
    )
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseAllowedIPs)
    assert resp.parsed.data.allowed_ips == ["203.0.113.0/24", "198.51.100.42"]
    assert get_allowed_i_ps.sync_detailed(disk_id, client=oa).parsed.data.allowed_ips == [
        "203.0.113.0/24",
        "198.51.100.42",
    ]
    assert get(oa, disk_id).allowed_ips == ["203.0.113.0/24", "198.51.100.42"]

    error(
        set_allowed_i_ps.sync_detailed(disk_id, client=oa, body=SetAllowedIPsBody(allowed_ips=["nope"])), 400
    )
    assert get_allowed_i_ps.sync_detailed(disk_id, client=oa).parsed.data.allowed_ips == [
        "203.0.113.0/24",
        "198.51.100.42",
    ]

    resp = set_allowed_i_ps.sync_detailed(disk_id, client=oa, body=SetAllowedIPsBody(allowed_ips=[]))
    assert resp.parsed.data.allowed_ips == []

    error(get_allowed_i_ps.sync_detailed("dsk-ffffffffffffffff", client=oa), 404)
    error(
        set_allowed_i_ps.sync_detailed(
            "dsk-ffffffffffffffff", client=oa, body=SetAllowedIPsBody(allowed_ips=[])
        ),
        404,
    )
    error(get_allowed_i_ps.sync_detailed("not-a-disk-id", client=oa), 404)


SEEDED = {
    "name": "oa-seeded",
    "id": FIXTURE_DISK,
    "checkpoints": [{"name": "nightly"}],
    "branches": [{"branch_name": "feature", "from_checkpoint_name": "nightly"}],
    "delegations": [
        {"clientId": "42", "inodeId": 7, "path": "dir/file.txt", "isPending": False, "isOrphaned": False},
        {"clientId": "7", "inodeId": 42, "isPending": True, "isOrphaned": True},
    ],
}


@pytest.fixture
def seeded(start_mock, tmp_path) -> Iterator[AuthenticatedClient]:
    server = start_mock("--fixture", write_fixture(tmp_path, [SEEDED]))
    with client_for(server.url) as client:
        yield client


def test_list_and_revoke_delegations(seeded):
    resp = list_delegations.sync_detailed(FIXTURE_DISK, client=seeded)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseDelegations)
    entries = sorted(resp.parsed.data.delegations, key=lambda d: d.client_id)
    assert all(isinstance(d, DelegationEntry) for d in entries)
    assert [(d.client_id, d.inode_id, d.path, d.is_pending, d.is_orphaned) for d in entries] == [
        ("42", 7, "dir/file.txt", False, False),
        ("7", 42, UNSET, True, True),
    ]

    resp = revoke_delegation.sync_detailed(
        FIXTURE_DISK, client=seeded, body=RevokeDelegationRequest(inode_id=7, client_id="42")
    )
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseMessage)
    assert resp.parsed.data.message == "Delegation revoked"
    left = list_delegations.sync_detailed(FIXTURE_DISK, client=seeded).parsed.data.delegations
    assert [(d.client_id, d.inode_id) for d in left] == [("7", 42)]

    error(
        revoke_delegation.sync_detailed(
            FIXTURE_DISK, client=seeded, body=RevokeDelegationRequest(inode_id=7, client_id="42")
        ),
        404,
    )
    error(
        revoke_delegation.sync_detailed(
            FIXTURE_DISK, client=seeded, body=RevokeDelegationRequest(inode_id=7, client_id="7")
        ),
        404,
    )
    error(list_delegations.sync_detailed("dsk-ffffffffffffffff", client=seeded), 404)
    error(list_delegations.sync_detailed("not-a-disk-id", client=seeded), 404)

    fresh = create(seeded, "oa-fresh").data.disk_id
    assert list_delegations.sync_detailed(fresh, client=seeded).parsed.data.delegations == []


# --- branches ---------------------------------------------------------------


def test_list_get_and_create_branches(seeded):
    resp = list_branches.sync_detailed(FIXTURE_DISK, client=seeded)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, BranchListApiResponse)
    [feature] = resp.parsed.data
    assert isinstance(feature, BranchResponse)
    assert feature.branch_name == "feature"
    assert feature.root_filesystem_id == FIXTURE_DISK
    assert feature.from_checkpoint_name == "nightly"
    assert feature.from_checkpoint_filesystem_id == FIXTURE_DISK
    assert feature.filesystem_id and feature.filesystem_id != FIXTURE_DISK
    assert isinstance(feature.created_at, datetime) and feature.created_at.tzinfo is not None

    resp = get_branch.sync_detailed(FIXTURE_DISK, "feature", client=seeded)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, BranchApiResponse)
    assert resp.parsed.data.to_dict() == feature.to_dict()

    # No idempotency_key: this client puts a UUID object into the headers,
    # which httpx rejects (contract §3.12).
    before = datetime.now(timezone.utc).replace(microsecond=0)
    resp = create_branch.sync_detailed(
        FIXTURE_DISK,
        client=seeded,
        body=CreateBranchRequest(branch_name="oa-branch", from_checkpoint_name="nightly"),
    )
    assert resp.status_code == 201, resp.content
    assert isinstance(resp.parsed, BranchApiResponse)
    made = resp.parsed.data
    assert made.branch_name == "oa-branch"
    assert made.root_filesystem_id == FIXTURE_DISK
    assert made.from_checkpoint_filesystem_id == FIXTURE_DISK
    assert made.filesystem_id not in {FIXTURE_DISK, feature.filesystem_id}
    assert made.created_at >= before

    resp = create_branch.sync_detailed(
        FIXTURE_DISK,
        client=seeded,
        body=CreateBranchRequest(branch_name="oa-branch", from_checkpoint_name="nightly"),
    )
    error(resp, 409)
    resp = create_branch.sync_detailed(
        FIXTURE_DISK,
        client=seeded,
        body=CreateBranchRequest(branch_name="other", from_checkpoint_name="missing"),
    )
    error(resp, 404)
    resp = create_branch.sync_detailed(
        FIXTURE_DISK,
        client=seeded,
        body=CreateBranchRequest(branch_name="other", from_checkpoint_name="nightly", from_branch=""),
    )
    assert resp.status_code == 201, "an empty from_branch means the root disk"
    assert resp.parsed.data.from_checkpoint_filesystem_id == FIXTURE_DISK
    error(get_branch.sync_detailed(FIXTURE_DISK, "missing", client=seeded), 404)

    names = sorted(
        b.branch_name for b in list_branches.sync_detailed(FIXTURE_DISK, client=seeded).parsed.data
    )
    assert names == ["feature", "oa-branch", "other"]

    fresh = create(seeded, "oa-plain").data.disk_id
    assert list_branches.sync_detailed(fresh, client=seeded).parsed.data == []

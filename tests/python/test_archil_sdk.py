"""The official Python SDK (`archil` on PyPI), unmodified, against archil-mock:
create, list with limit and cursor, delete, and errors as ArchilApiError."""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator, Optional

import httpx
import pytest
from archil import Archil
from archil.errors import ArchilApiError

DEFAULT_KEY = "key-archil-mock"
ALICE = "key-alice-python-sdk-0001"
BOB = "key-bob-python-sdk-0002"
ID = re.compile(r"^[0-9a-f]{64}$")


@contextmanager
def sdk(url: str, key: str) -> Iterator[Archil]:
    """An SDK client pointed at the mock, closed afterwards so its pooled
    connection does not outlive the server."""
    with Archil(api_key=key, region="aws-us-east-1", base_url=url) as client:
        yield client


def raw_page(url: str, key: str, *, limit: int, cursor: Optional[str] = None) -> dict:
    """The whole list envelope, which the SDK's `tokens.list` does not expose:
    its top-level `nextCursor` is where a walk continues."""
    params: dict = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    resp = httpx.get(f"{url}/api/tokens", params=params, headers={"Authorization": key})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["success"] is True
    return body


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def alice(start_mock):
    """A fresh server with two accounts; yields (url, alice's SDK client)."""
    server = start_mock("--api-key", f"alice={ALICE}", "--api-key", f"bob={BOB}")
    with sdk(server.url, ALICE) as client:
        yield server.url, client


def test_create_returns_the_secret_once_and_list_never_does(alice):
    url, client = alice
    before = datetime.now(timezone.utc).replace(microsecond=0)

    created = client.tokens.create(name="ci deploy", description="used by the deploy job")

    assert created.name == "ci deploy"
    assert created.description == "used by the deploy job"
    assert created.token is not None and created.token.startswith("key-")
    assert len(created.token) >= len("key-") + 32
    assert created.token_suffix == created.token[-4:]
    assert ID.match(created.id), created.id
    assert created.id == hashlib.sha256(created.token.encode()).hexdigest()
    assert created.id not in created.token
    created_at = parse_time(created.created_at)
    assert created_at.utcoffset().total_seconds() == 0
    assert before <= created_at <= datetime.now(timezone.utc)

    listed = {t.id: t for t in client.tokens.list()}
    assert created.id in listed
    entry = listed[created.id]
    assert entry.token is None, "a listing must never carry the secret"
    assert (entry.name, entry.description, entry.token_suffix, entry.created_at) == (
        created.name,
        created.description,
        created.token_suffix,
        created.created_at,
    )
    assert entry.last_used_at is None, "a token that never authenticated has no lastUsedAt"


def test_description_is_optional(alice):
    _, client = alice
    created = client.tokens.create(name="no description")
    assert created.description is None
    [entry] = [t for t in client.tokens.list() if t.id == created.id]
    assert entry.description is None


def test_a_created_token_is_a_working_credential_of_the_same_account(alice):
    url, client = alice
    created = client.tokens.create(name="second key")

    with sdk(url, created.token) as as_new:
        seen = {t.id: t for t in as_new.tokens.list()}
        made = as_new.tokens.create(name="made with the new key")

    assert created.id in seen, "the new key lists its own account"
    assert seen[created.id].last_used_at is not None, "the listing request itself used it"
    assert made.id in {t.id for t in client.tokens.list()}, "created in alice's account"


def test_the_bootstrap_key_is_listed_in_its_own_account(alice):
    _, client = alice
    [bootstrap] = client.tokens.list()
    assert bootstrap.id == hashlib.sha256(ALICE.encode()).hexdigest()
    assert bootstrap.token_suffix == ALICE[-4:]


def test_list_limit_and_cursor_walk_every_token_once_in_creation_order(alice):
    url, client = alice
    made = [client.tokens.create(name=f"t{i:02d}").id for i in range(11)]
    expected = [hashlib.sha256(ALICE.encode()).hexdigest(), *made]

    first = client.tokens.list(limit=4)
    assert [t.id for t in first] == expected[:4]

    walked: list[str] = []
    cursor: Optional[str] = None
    pages = 0
    while True:
        envelope = raw_page(url, ALICE, limit=4, cursor=cursor)
        page = client.tokens.list(limit=4, cursor=cursor)
        assert [t.id for t in page] == [t["id"] for t in envelope["data"]["tokens"]]
        assert 1 <= len(page) <= 4
        walked += [t.id for t in page]
        pages += 1
        if "nextCursor" not in envelope:
            break
        cursor = envelope["nextCursor"]
        assert isinstance(cursor, str) and cursor
        assert pages < 10, "the walk does not end"

    assert walked == expected
    assert pages == 3


def test_a_cursor_continues_after_tokens_created_and_deleted_between_pages(alice):
    url, client = alice
    made = [client.tokens.create(name=f"t{i}").id for i in range(6)]
    envelope = raw_page(url, ALICE, limit=3)
    cursor = envelope["nextCursor"]
    first = [t["id"] for t in envelope["data"]["tokens"]]

    client.tokens.delete(made[3])
    late = client.tokens.create(name="late").id

    rest = client.tokens.list(cursor=cursor)
    # The first page was the bootstrap key, t0 and t1.
    assert first == [hashlib.sha256(ALICE.encode()).hexdigest(), made[0], made[1]]
    assert [t.id for t in rest] == [made[2], made[4], made[5], late]
    assert not set(first) & {t.id for t in rest}


def test_delete_revokes_the_token(alice):
    url, client = alice
    created = client.tokens.create(name="short-lived")
    with sdk(url, created.token) as doomed:
        doomed.tokens.list()  # works while it lives

        client.tokens.delete(created.id)

        assert created.id not in {t.id for t in client.tokens.list()}
        with pytest.raises(ArchilApiError) as err:
            doomed.tokens.list()
    assert err.value.status == 401
    assert err.value.code == "unauthorized"
    assert str(err.value)


def test_a_revoked_token_cannot_create_either(alice):
    url, client = alice
    created = client.tokens.create(name="revoked")
    client.tokens.delete(created.id)
    with sdk(url, created.token) as revoked:
        with pytest.raises(ArchilApiError) as err:
            revoked.tokens.create(name="should not exist")
    assert err.value.status == 401
    assert err.value.code == "unauthorized"
    assert "should not exist" not in {t.name for t in client.tokens.list()}


def test_unknown_and_already_deleted_ids_are_404(alice):
    _, client = alice
    with pytest.raises(ArchilApiError) as err:
        client.tokens.delete("0" * 64)
    assert err.value.status == 404
    assert err.value.code == "not_found"

    with pytest.raises(ArchilApiError) as err:
        client.tokens.delete("not-a-token-id")
    assert err.value.status == 404

    created = client.tokens.create(name="twice")
    client.tokens.delete(created.id)
    with pytest.raises(ArchilApiError) as err:
        client.tokens.delete(created.id)
    assert err.value.status == 404


def test_accounts_are_isolated(alice):
    url, client = alice
    mine = client.tokens.create(name="alice's")
    with sdk(url, BOB) as bob:
        assert mine.id not in {t.id for t in bob.tokens.list()}
        with pytest.raises(ArchilApiError) as err:
            bob.tokens.delete(mine.id)
        assert err.value.status == 404
    assert mine.id in {t.id for t in client.tokens.list()}, "bob's failed delete left it alone"


def test_unknown_key_is_401(mock_url):
    with sdk(mock_url, "key-never-issued-0000") as stranger:
        with pytest.raises(ArchilApiError) as err:
            stranger.tokens.list()
    assert err.value.status == 401
    assert err.value.code == "unauthorized"


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"name": ""}, "name", "between 1 and 100 characters"),
        ({"name": "n" * 101}, "name", "between 1 and 100 characters"),
        ({"name": "é" * 101}, "name", "between 1 and 100 characters"),
        ({"name": "😀" * 101}, "name", "between 1 and 100 characters"),
        ({"name": 42}, "name", "must be a string"),
        ({"name": "ok", "description": "d" * 501}, "description", "at most 500 characters"),
        ({"name": "ok", "description": 7}, "description", "must be a string"),
    ],
    ids=["empty-name", "name-101", "name-101-e-acute", "name-101-emoji", "name-int", "desc-501", "desc-int"],
)
def test_validation_errors_are_400_naming_the_field(alice, kwargs, field, rule):
    _, client = alice
    before = [t.id for t in client.tokens.list()]
    with pytest.raises(ArchilApiError) as err:
        client.tokens.create(**kwargs)
    assert err.value.status == 400
    assert err.value.code == "validation_error"
    message = str(err.value)
    assert message.startswith(field), message
    assert rule in message, message
    assert [t.id for t in client.tokens.list()] == before, "a rejected create changes nothing"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "n" * 100},
        {"name": "é" * 100},
        {"name": "😀" * 100},
        {"name": "x", "description": "d" * 500},
        {"name": "x", "description": "😀" * 500},
        {"name": "x", "description": ""},
    ],
    ids=["name-100", "name-100-e-acute", "name-100-emoji", "desc-500", "desc-500-emoji", "desc-empty"],
)
def test_lengths_at_the_limit_are_accepted(alice, kwargs):
    _, client = alice
    created = client.tokens.create(**kwargs)
    assert created.name == kwargs["name"]
    assert created.description == kwargs.get("description")
    [entry] = [t for t in client.tokens.list() if t.id == created.id]
    assert entry.name == kwargs["name"]


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"limit": 101}, "limit must be between 1 and 100"),
        ({"limit": 0}, "limit must be between 1 and 100"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
    ids=["limit-101", "limit-0", "bad-cursor"],
)
def test_bad_list_parameters_are_400(mock_url, kwargs, rule):
    with sdk(mock_url, DEFAULT_KEY) as client:
        with pytest.raises(ArchilApiError) as err:
            client.tokens.list(**kwargs)
    assert err.value.status == 400
    assert err.value.code == "validation_error"
    assert rule in str(err.value)


def test_limit_100_is_accepted(mock_url):
    with sdk(mock_url, DEFAULT_KEY) as client:
        assert len(client.tokens.list(limit=100)) >= 1

"""The generated client (`archil-openapi` on PyPI), unmodified, against
archil-mock: operations createApiToken, listApiTokens and deleteApiToken, with
every response parsed into the spec's models."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Iterator, Optional

import pytest
from archil_openapi import AuthenticatedClient, Client
from archil_openapi.api.api_tokens import create_api_token, delete_api_token, list_api_tokens
from archil_openapi.errors import UnexpectedStatus
from archil_openapi.models.api_response_message import ApiResponseMessage
from archil_openapi.models.api_response_token_created import ApiResponseTokenCreated
from archil_openapi.models.api_response_token_list import ApiResponseTokenList
from archil_openapi.models.create_api_token_request import CreateApiTokenRequest
from archil_openapi.models.error_response import ErrorResponse
from archil_openapi.types import UNSET

DEFAULT_KEY = "key-archil-mock"
CAROL = "key-carol-openapi-0003"
DAVE = "key-dave-openapi-0004"


def client_for(url: str, key: str, **kwargs) -> AuthenticatedClient:
    # prefix="" sends the raw `key-…` value, as the spec defines the header;
    # the default "Bearer " form is accepted too (test_disks_openapi.py uses it).
    return AuthenticatedClient(base_url=url, token=key, prefix="", **kwargs)


@pytest.fixture
def carol(start_mock) -> Iterator[tuple[str, AuthenticatedClient]]:
    server = start_mock("--api-key", f"carol={CAROL}", "--api-key", f"dave={DAVE}")
    with client_for(server.url, CAROL) as client:
        yield server.url, client


def create(client: AuthenticatedClient, name: str, description=UNSET) -> ApiResponseTokenCreated:
    resp = create_api_token.sync_detailed(
        client=client, body=CreateApiTokenRequest(name=name, description=description)
    )
    assert resp.status_code == 201, resp.content
    assert isinstance(resp.parsed, ApiResponseTokenCreated)
    assert resp.parsed.success is True
    return resp.parsed


def list_page(
    client: AuthenticatedClient, *, limit=UNSET, cursor=UNSET
) -> ApiResponseTokenList:
    resp = list_api_tokens.sync_detailed(client=client, limit=limit, cursor=cursor)
    assert resp.status_code == 200, resp.content
    assert isinstance(resp.parsed, ApiResponseTokenList)
    assert resp.parsed.success is True
    return resp.parsed


def walk(client: AuthenticatedClient, limit=UNSET) -> tuple[list[str], list[int]]:
    """Follows `nextCursor` (an envelope field the spec leaves to
    additionalProperties) until it is absent; returns the ids and page sizes."""
    ids: list[str] = []
    sizes: list[int] = []
    cursor: Optional[str] = None
    while True:
        page = list_page(client, limit=limit, cursor=UNSET if cursor is None else cursor)
        ids += [t.id for t in page.data.tokens]
        sizes.append(len(page.data.tokens))
        cursor = page.additional_properties.get("nextCursor")
        if cursor is None:
            assert "nextCursor" not in page.additional_properties
            return ids, sizes
        assert isinstance(cursor, str) and cursor
        assert len(sizes) < 1000, "the walk does not end"


def test_create_parses_into_the_spec_model(carol):
    _, client = carol
    data = create(client, "deploy", "from the generated client").data

    assert data.name == "deploy"
    assert data.description == "from the generated client"
    assert isinstance(data.token, str) and data.token.startswith("key-")
    assert len(data.token) >= len("key-") + 32
    assert data.token_suffix == data.token[-4:]
    assert data.id == hashlib.sha256(data.token.encode()).hexdigest()
    assert data.created_at.utcoffset() == timedelta(0), "createdAt is RFC 3339 UTC"
    assert data.last_used_at is UNSET
    assert data.additional_properties == {}, "no fields beyond the spec's"


def test_list_shows_created_tokens_without_secrets(carol):
    _, client = carol
    data = create(client, "listed").data
    page = list_page(client)
    [entry] = [t for t in page.data.tokens if t.id == data.id]
    assert (entry.name, entry.token_suffix, entry.created_at) == (
        "listed",
        data.token_suffix,
        data.created_at,
    )
    assert entry.description is UNSET
    assert "token" not in entry.additional_properties
    assert "nextCursor" not in page.additional_properties


def test_pagination_over_120_tokens_returns_each_exactly_once(carol):
    _, client = carol
    made = [create(client, f"bulk-{i:03d}").data.id for i in range(120)]
    expected = [hashlib.sha256(CAROL.encode()).hexdigest(), *made]  # bootstrap key first

    ids, sizes = walk(client)
    assert ids == expected
    assert sizes == [50, 50, 21], "limit defaults to 50"

    ids, sizes = walk(client, limit=7)
    assert ids == expected
    assert len(ids) == len(set(ids)) == 121
    assert sizes == [7] * 17 + [2]

    ids, sizes = walk(client, limit=100)
    assert ids == expected
    assert sizes == [100, 21]


def test_pagination_survives_creates_and_deletes_between_pages(carol):
    _, client = carol
    made = [create(client, f"t{i:02d}").data.id for i in range(30)]
    deleted: set[str] = set()
    added: list[str] = []
    seen: list[str] = []
    cursor = UNSET
    while True:
        page = list_page(client, limit=8, cursor=cursor)
        seen += [t.id for t in page.data.tokens]
        if "nextCursor" not in page.additional_properties:
            break
        cursor = page.additional_properties["nextCursor"]
        # Delete one token not yet listed and one already listed; add one.
        unseen = [i for i in made if i not in seen and i not in deleted]
        if unseen:
            assert delete_api_token.sync_detailed(unseen[-1], client=client).status_code == 200
            deleted.add(unseen[-1])
        assert delete_api_token.sync_detailed(seen[-1], client=client).status_code == 200
        added.append(create(client, f"added-{len(added)}").data.id)

    assert len(seen) == len(set(seen)), "no token twice"
    assert not deleted & set(seen), "tokens deleted before their page never appear"
    lived_throughout = [i for i in made if i not in deleted]
    assert set(lived_throughout) <= set(seen), "every surviving token appears"
    assert set(added) <= set(seen), "tokens created during the walk come after the cursor"


def test_delete_then_the_token_is_401(carol):
    url, client = carol
    data = create(client, "revoke me").data
    with client_for(url, data.token) as as_token:
        assert list_page(as_token).data.tokens  # live

        resp = delete_api_token.sync_detailed(data.id, client=client)
        assert resp.status_code == 200
        assert isinstance(resp.parsed, ApiResponseMessage)
        assert resp.parsed.success is True
        assert resp.parsed.data.message

        resp = list_api_tokens.sync_detailed(client=as_token)
    assert resp.status_code == 401
    assert isinstance(resp.parsed, ErrorResponse)
    assert resp.parsed.success is False
    assert resp.parsed.code == "unauthorized"
    assert resp.parsed.error
    assert resp.headers["content-type"].startswith("application/json")


def test_missing_and_unknown_keys_are_401(mock_url):
    with Client(base_url=mock_url) as anonymous:  # no Authorization header at all
        resp = list_api_tokens.sync_detailed(client=anonymous)
    assert resp.status_code == 401
    assert isinstance(resp.parsed, ErrorResponse)
    assert resp.parsed.code == "unauthorized"

    with client_for(mock_url, "key-never-issued-0000") as client:
        resp = create_api_token.sync_detailed(client=client, body=CreateApiTokenRequest(name="x"))
        assert resp.status_code == 401
        assert isinstance(resp.parsed, ErrorResponse)
        resp = delete_api_token.sync_detailed("0" * 64, client=client)
        assert resp.status_code == 401
        assert isinstance(resp.parsed, ErrorResponse)


def test_delete_unknown_deleted_or_foreign_ids_is_404(carol):
    url, client = carol
    for token_id in ["0" * 64, "nope"]:
        resp = delete_api_token.sync_detailed(token_id, client=client)
        assert resp.status_code == 404, token_id
        assert isinstance(resp.parsed, ErrorResponse)
        assert resp.parsed.success is False
        assert resp.parsed.code == "not_found"

    data = create(client, "once").data
    assert delete_api_token.sync_detailed(data.id, client=client).status_code == 200
    resp = delete_api_token.sync_detailed(data.id, client=client)
    assert resp.status_code == 404
    assert isinstance(resp.parsed, ErrorResponse)

    mine = create(client, "carol's").data
    with client_for(url, DAVE) as dave:
        resp = delete_api_token.sync_detailed(mine.id, client=dave)
        assert resp.status_code == 404
        assert isinstance(resp.parsed, ErrorResponse)
        assert mine.id not in {t.id for t in list_page(dave).data.tokens}
    assert mine.id in {t.id for t in list_page(client).data.tokens}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (CreateApiTokenRequest(name=""), "name must be between 1 and 100 characters"),
        (CreateApiTokenRequest(name="😀" * 101), "name must be between 1 and 100 characters"),
        (
            CreateApiTokenRequest(name="ok", description="d" * 501),
            "description must be at most 500 characters",
        ),
        (CreateApiTokenRequest(name="ok", description=None), "description must be a string"),
    ],
    ids=["empty-name", "name-101-emoji", "desc-501", "desc-null"],
)
def test_invalid_create_is_400_error_response(carol, body, message):
    _, client = carol
    before = [t.id for t in list_page(client).data.tokens]
    resp = create_api_token.sync_detailed(client=client, body=body)
    assert resp.status_code == 400
    assert isinstance(resp.parsed, ErrorResponse)
    assert resp.parsed.success is False
    assert resp.parsed.code == "validation_error"
    assert message in resp.parsed.error
    assert [t.id for t in list_page(client).data.tokens] == before


def test_unknown_request_fields_are_ignored(carol):
    _, client = carol
    body = CreateApiTokenRequest(name="with extras", permissions=["disks:read"])
    body["somethingNew"] = {"nested": True}
    assert body.to_dict()["somethingNew"] == {"nested": True}
    resp = create_api_token.sync_detailed(client=client, body=body)
    assert resp.status_code == 201, resp.content
    assert resp.parsed.data.name == "with extras"
    assert resp.parsed.data.id in {t.id for t in list_page(client).data.tokens}


def test_list_limit_over_100_is_400(mock_url):
    # The spec documents no 400 for listApiTokens, so the generated client
    # cannot parse it: it raises UnexpectedStatus when asked to.
    with client_for(mock_url, DEFAULT_KEY, raise_on_unexpected_status=True) as client:
        with pytest.raises(UnexpectedStatus) as err:
            list_api_tokens.sync_detailed(client=client, limit=101)
    assert err.value.status_code == 400
    parsed = ErrorResponse.from_dict(json.loads(err.value.content))
    assert parsed.code == "validation_error"
    assert "limit" in parsed.error

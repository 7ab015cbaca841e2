"""The official Python SDK (`archil` on PyPI), unmodified, against archil-mock's
S3-compatible object gateway on the control plane's port (`/{diskId}` and
`/{diskId}/{key}`): put / get / head / exists / append / delete, listings
(recursive, delimited, paged, 2500 keys), bulk delete, automatic and manual
multipart, the FileSystem protocol, a Workspace, the agent file tools, share
URLs, retries through injected faults, a lost Complete response, directories,
odd keys, accounts and keys, byte ranges, disk sizes and the storage flags.
Errors surface as ArchilS3Error with the HTTP status and the S3 error code.
The wire contract is shared/contracts/s3-gateway.md."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Iterable, Iterator, Optional
from urllib.parse import quote

import httpx
import pytest
from archil import Archil, ExecMountSpec, FileSystem
from archil.errors import ArchilApiError, ArchilS3Error

DEFAULT_KEY = "key-archil-mock"
REGION = "aws-us-east-1"
MiB = 1024 * 1024
XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


# --- helpers ----------------------------------------------------------------


@contextmanager
def sdk(url: str, key: str = DEFAULT_KEY, **kwargs) -> Iterator[Archil]:
    """An SDK client pointed at the mock; the S3 URL is derived from base_url."""
    with Archil(api_key=key, region=REGION, base_url=url, **kwargs) as client:
        yield client


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def multipart_etag(parts: list[bytes]) -> str:
    digest = hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()
    return f'"{digest}-{len(parts)}"'


def encode_key(key: str) -> str:
    """The key as the Python SDK puts it in the path."""
    return "/".join(quote(segment, safe="") for segment in key.split("/"))


def raw(
    url: str,
    method: str,
    path: str,
    key: Optional[str] = DEFAULT_KEY,
    headers: Optional[dict] = None,
    **kwargs,
) -> httpx.Response:
    """One request outside the SDK (no retries), for headers and requests the
    SDK does not send. `key=None` sends no Authorization header."""
    sent = dict(headers or {})
    if key is not None:
        sent["Authorization"] = key
    return httpx.request(method, f"{url}{path}", headers=sent, **kwargs)


def object_path(disk_id: str, key: str) -> str:
    return f"/{disk_id}/{encode_key(key)}"


def xml_error_code(resp: httpx.Response) -> Optional[str]:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(resp.text)
    assert root.tag in ("Error", f"{{{XMLNS}}}Error"), resp.text
    code = next((c.text for c in root if c.tag.rsplit("}", 1)[-1] == "Code"), None)
    message = next((c.text for c in root if c.tag.rsplit("}", 1)[-1] == "Message"), None)
    assert message, f"an <Error> needs a Message: {resp.text}"
    return code


def assert_s3_error(exc: pytest.ExceptionInfo, status: int, code: Optional[str]) -> ArchilS3Error:
    err = exc.value
    assert isinstance(err, ArchilS3Error), repr(err)
    assert err.status == status, f"{err} raw={err.raw!r}"
    assert err.code == code, f"{err} raw={err.raw!r}"
    return err


def add_fault(url: str, rule: dict) -> str:
    resp = httpx.post(f"{url}/_mock/faults", json=rule)
    assert resp.status_code == 201, resp.text
    [fault_id] = resp.json()["data"]["ids"]
    return fault_id


def journal(url: str, method: Optional[str] = None, path: Optional[str] = None) -> list[dict]:
    params = {k: v for k, v in (("method", method), ("path", path)) if v is not None}
    resp = httpx.get(f"{url}/_mock/requests", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]["requests"]


def clear_journal(url: str) -> None:
    assert httpx.delete(f"{url}/_mock/requests").status_code == 200


def disk_json(url: str, disk_id: str, key: str = DEFAULT_KEY) -> dict:
    resp = raw(url, "GET", f"/api/disks/{disk_id}", key=key)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def put_many(disk, items: Iterable[tuple[str, bytes]], concurrency: int = 32) -> list:
    """Puts through the SDK's own async API, a few dozen at a time."""

    async def run():
        sem = asyncio.Semaphore(concurrency)

        async def one(key, body):
            async with sem:
                return await disk.put_object.aio(key, body)

        return await asyncio.gather(*(one(k, b) for k, b in items))

    return asyncio.run(run())


def invoke(tool, args: dict) -> str:
    return asyncio.run(tool.invoke(args))


def keys_of(result) -> list[str]:
    return [o.key for o in result.objects]


def utf8_sorted(keys: Iterable[str]) -> list[str]:
    return sorted(keys, key=lambda k: k.encode("utf-8"))


@pytest.fixture
def server(start_mock):
    return start_mock()


@pytest.fixture
def client(server) -> Iterator[Archil]:
    with sdk(server.url) as c:
        yield c


@pytest.fixture
def disk(client):
    return client.disks.create(name=f"objects-{uuid.uuid4().hex[:10]}").disk


def new_disk(client, prefix: str = "objects"):
    return client.disks.create(name=f"{prefix}-{uuid.uuid4().hex[:10]}").disk


# --- put / get / head / exists ------------------------------------------------


def test_put_get_head_bytes_and_str(server, disk):
    before = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    body = b"hello, gateway\n\x00\xff"
    put = disk.put_object("greeting.bin", body, "text/plain; charset=utf-8")
    assert put.etag == md5_etag(body)
    assert "-" not in put.etag, "a single PUT has a plain MD5 ETag"

    text = "héllo ✓ wörld"
    put_text = disk.put_object("notes/text.txt", text)
    assert put_text.etag == md5_etag(text.encode("utf-8")), "a str body is sent as UTF-8"
    after = datetime.now(timezone.utc) + timedelta(seconds=1)

    assert disk.get_object("greeting.bin") == body
    assert disk.get_object("notes/text.txt") == text.encode("utf-8")

    meta = disk.head_object("greeting.bin")
    assert meta is not None
    assert meta.size == len(body)
    assert meta.etag == md5_etag(body)
    assert meta.content_type == "text/plain; charset=utf-8", "the Content-Type sent is stored"
    assert meta.last_modified is not None, "Last-Modified must be an RFC 7231 date"
    assert meta.last_modified.tzinfo is not None
    assert before <= meta.last_modified <= after, meta.last_modified

    untyped = disk.head_object("notes/text.txt")
    assert untyped is not None
    assert untyped.size == len(text.encode("utf-8"))
    assert untyped.etag == put_text.etag
    assert untyped.content_type == "application/octet-stream", "the default Content-Type is stored"

    # The raw headers, as the contract pins them.
    resp = raw(server.url, "HEAD", object_path(disk.id, "greeting.bin"))
    assert resp.status_code == 200
    assert resp.headers["content-length"] == str(len(body)), "HEAD carries the real size"
    assert resp.headers["etag"] == md5_etag(body)
    assert parsedate_to_datetime(resp.headers["last-modified"]) == meta.last_modified
    assert resp.headers["last-modified"].endswith(" GMT")
    assert "content-encoding" not in resp.headers
    got = raw(server.url, "GET", object_path(disk.id, "greeting.bin"))
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["etag"] == md5_etag(body)
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-encoding" not in got.headers

    assert disk.object_exists("greeting.bin") is True
    assert disk.object_exists("notes/text.txt") is True
    assert disk.object_exists("absent.txt") is False
    assert disk.head_object("absent.txt") is None
    with pytest.raises(ArchilS3Error) as err:
        disk.get_object("absent.txt")
    e = assert_s3_error(err, 404, "NoSuchKey")
    assert "<Error>" in e.raw or "<Error " in e.raw


def test_overwrite_replaces_body_etag_and_type(disk):
    disk.put_object("doc.json", b'{"v": 1}', "application/json")
    second = b"plain replacement, longer than before"
    put = disk.put_object("doc.json", second)
    assert put.etag == md5_etag(second)
    assert disk.get_object("doc.json") == second
    meta = disk.head_object("doc.json")
    assert (meta.size, meta.etag) == (len(second), md5_etag(second))
    assert meta.content_type == "application/octet-stream", "an overwrite without a type gets the default"
    assert keys_of(disk.list_objects(recursive=True)) == ["doc.json"]


def test_empty_object(disk):
    put = disk.put_object("empty.txt", b"")
    assert put.etag == md5_etag(b"")
    assert disk.get_object("empty.txt") == b""
    meta = disk.head_object("empty.txt")
    assert meta.size == 0 and meta.etag == md5_etag(b"")
    [obj] = disk.list_objects(recursive=True).objects
    assert (obj.key, obj.size, obj.etag) == ("empty.txt", 0, md5_etag(b""))


def test_posix_attributes_are_accepted_on_put_append_and_directories(server, disk):
    put = disk.put_object("home/agent/run.sh", b"#!/bin/sh\n", mode=0o755, uid=1000, gid=1000)
    assert put.etag == md5_etag(b"#!/bin/sh\n")
    disk.put_object("home/agent/private/", b"", mode=0o700, uid=1000, gid=1000)
    appended = disk.append_object("home/agent/log.txt", b"x", mode=0o600, uid=1000, gid=1000)
    assert appended.etag == md5_etag(b"x")
    assert disk.get_object("home/agent/run.sh") == b"#!/bin/sh\n"
    listing = disk.list_objects("home/agent/")
    assert keys_of(listing) == ["home/agent/log.txt", "home/agent/run.sh"]
    assert listing.common_prefixes == ["home/agent/private/"]

    # What the SDK put on the wire: octal mode without a prefix, decimal ids.
    [entry] = [
        e for e in journal(server.url, "PUT") if e["path"] == object_path(disk.id, "home/agent/run.sh")
    ]
    assert entry["headers"].get("x-archil-mode") == "755"
    assert entry["headers"].get("x-archil-uid") == "1000"
    assert entry["headers"].get("x-archil-gid") == "1000"


@pytest.mark.parametrize("mode", ["9", "rw-r--r--", "0x1ff", "-1"])
def test_an_invalid_mode_header_is_400_invalid_argument(server, disk, mode):
    resp = raw(server.url, "PUT", object_path(disk.id, "bad-mode.txt"), headers={"x-archil-mode": mode}, content=b"x")
    assert resp.status_code == 400, resp.text
    assert xml_error_code(resp) == "InvalidArgument"
    assert disk.head_object("bad-mode.txt") is None, "a rejected PUT stores nothing"


# --- append ---------------------------------------------------------------------


def test_append_creates_then_appends(disk):
    first = b"line one\n"
    created = disk.append_object("logs/app.log", first, "text/plain")
    assert created.etag == md5_etag(first)
    second = "line two ✓\n"
    appended = disk.append_object("logs/app.log", second, "application/json")
    whole = first + second.encode("utf-8")
    assert appended.etag == md5_etag(whole), "append answers the ETag of the whole object"
    assert disk.get_object("logs/app.log") == whole
    meta = disk.head_object("logs/app.log")
    assert (meta.size, meta.etag) == (len(whole), md5_etag(whole))
    assert meta.content_type == "text/plain", "Content-Type applies only when append creates"
    [listed] = disk.list_objects("logs/").objects
    assert (listed.size, listed.etag) == (len(whole), md5_etag(whole))

    # Appending to an object made by put_object.
    disk.put_object("logs/put.log", b"abc")
    assert disk.append_object("logs/put.log", b"def").etag == md5_etag(b"abcdef")
    assert disk.get_object("logs/put.log") == b"abcdef"
    assert disk.head_object("logs/put.log").content_type == "application/octet-stream"


def test_append_limit_is_one_mib_per_call(disk):
    exactly = b"a" * MiB
    assert disk.append_object("big.log", exactly).etag == md5_etag(exactly), "exactly 1 MiB is allowed"
    with pytest.raises(ArchilS3Error) as err:
        disk.append_object("big.log", b"b" * (MiB + 1))
    assert_s3_error(err, 400, "EntityTooLarge")
    meta = disk.head_object("big.log")
    assert (meta.size, meta.etag) == (MiB, md5_etag(exactly)), "a rejected append changes nothing"
    with pytest.raises(ArchilS3Error) as err:
        disk.append_object("fresh.log", b"c" * (MiB + 1))
    assert_s3_error(err, 400, "EntityTooLarge")
    assert disk.head_object("fresh.log") is None, "a rejected append does not create"
    # Many appends grow an object past 1 MiB.
    disk.append_object("big.log", b"z" * 10)
    assert disk.head_object("big.log").size == MiB + 10


# --- delete ------------------------------------------------------------------------


def test_delete_object_present_and_absent(server, disk):
    disk.put_object("a/b/c.txt", b"c")
    disk.put_object("keep.txt", b"k")
    disk.delete_object("a/b/c.txt")
    assert disk.head_object("a/b/c.txt") is None
    with pytest.raises(ArchilS3Error) as err:
        disk.get_object("a/b/c.txt")
    assert_s3_error(err, 404, "NoSuchKey")
    disk.delete_object("a/b/c.txt")  # again: no error
    disk.delete_object("never/existed.txt")
    assert keys_of(disk.list_objects(recursive=True)) == ["keep.txt"]

    resp = raw(server.url, "DELETE", object_path(disk.id, "keep.txt"))
    assert resp.status_code == 204, resp.text
    resp = raw(server.url, "DELETE", object_path(disk.id, "keep.txt"))
    assert resp.status_code == 204, "DeleteObject of an absent key is 204, as in S3"
    assert disk.list_objects(recursive=True).objects == []


# --- listing --------------------------------------------------------------------------


def seed_tree(disk) -> dict[str, bytes]:
    files = {
        "top.txt": b"top",
        "docs/a.txt": b"alpha",
        "docs/b.txt": b"bravo!",
        "docs/sub/c.txt": b"charlie",
        "img/x.png": b"\x89PNG",
        "deep/a/b/c.txt": b"deep",
    }
    for key, body in files.items():
        disk.put_object(key, body)
    disk.put_object("empty/", b"")  # an explicit directory, nothing in it
    return files


def test_list_recursive_lists_files_only(disk):
    files = seed_tree(disk)
    result = disk.list_objects(recursive=True)
    assert keys_of(result) == utf8_sorted(files), "recursive = every file, flat, no directories"
    assert result.common_prefixes == []
    assert result.is_truncated is False
    assert result.key_count == len(files)
    now = datetime.now(timezone.utc)
    for obj in result.objects:
        assert obj.size == len(files[obj.key])
        assert obj.etag == md5_etag(files[obj.key])
        assert obj.last_modified is not None and obj.last_modified.tzinfo is not None
        assert abs(now - obj.last_modified) < timedelta(minutes=1)
        head = disk.head_object(obj.key)
        assert abs(obj.last_modified - head.last_modified) < timedelta(seconds=1), "list and HEAD agree"

    docs = disk.list_objects("docs/", recursive=True)
    assert keys_of(docs) == ["docs/a.txt", "docs/b.txt", "docs/sub/c.txt"]
    assert docs.prefix == "docs/"
    assert keys_of(disk.list_objects("docs/a", recursive=True)) == ["docs/a.txt"], "a prefix need not end in /"
    assert keys_of(disk.list_objects("d", recursive=True)) == ["deep/a/b/c.txt", "docs/a.txt", "docs/b.txt", "docs/sub/c.txt"]
    assert disk.list_objects("empty/", recursive=True).objects == []
    assert disk.list_objects("nothing/", recursive=True).objects == []


def test_list_with_delimiter_returns_one_level(disk):
    seed_tree(disk)
    root = disk.list_objects()
    assert keys_of(root) == ["top.txt"]
    assert root.common_prefixes == ["deep/", "docs/", "empty/", "img/"], "explicit and implicit directories"

    docs = disk.list_objects("docs/")
    assert keys_of(docs) == ["docs/a.txt", "docs/b.txt"]
    assert docs.common_prefixes == ["docs/sub/"]
    assert docs.prefix == "docs/"

    assert disk.list_objects("deep/").common_prefixes == ["deep/a/"]
    assert disk.list_objects("deep/a/").common_prefixes == ["deep/a/b/"]
    assert keys_of(disk.list_objects("deep/a/b/")) == ["deep/a/b/c.txt"]

    empty = disk.list_objects("empty/")
    assert (empty.objects, empty.common_prefixes) == ([], []), "a directory never lists itself"
    partial = disk.list_objects("do")
    assert (keys_of(partial), partial.common_prefixes) == ([], ["docs/"])

    page = disk.list_objects(single_page=True)
    assert page.key_count == 1 + 4, "KeyCount = Contents + CommonPrefixes"
    assert page.is_truncated is False
    assert page.next_continuation_token is None


def test_list_start_after_limit_and_pages(disk):
    files = seed_tree(disk)
    ordered = utf8_sorted(files)
    after = disk.list_objects(recursive=True, start_after="docs/a.txt")
    assert keys_of(after) == [k for k in ordered if k.encode() > b"docs/a.txt"]
    limited = disk.list_objects(recursive=True, limit=2)
    assert keys_of(limited) == ordered[:2]
    assert limited.is_truncated is True
    pages = list(disk.list_objects_pages(recursive=True))
    assert len(pages) == 1
    assert keys_of(pages[0]) == ordered
    assert pages[0].key_count == len(ordered)


def test_a_put_on_the_bucket_path_is_400_invalid_request(server, disk):
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("", b"x")
    assert_s3_error(err, 400, "InvalidRequest")
    resp = raw(server.url, "PUT", f"/{disk.id}", content=b"x")
    assert resp.status_code == 400
    assert xml_error_code(resp) == "InvalidRequest"
    assert disk.list_objects(recursive=True).objects == []


# --- directories -----------------------------------------------------------------------


def test_file_and_directory_conflicts(server, disk):
    disk.put_object("f", b"a file")
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("f/x", b"under a file")
    assert_s3_error(err, 409, "NotADirectory")
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("f/deeper/x", b"under a file")
    assert_s3_error(err, 409, "NotADirectory")
    assert disk.get_object("f") == b"a file"

    disk.put_object("d/", b"")
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("d", b"over a directory")
    assert_s3_error(err, 409, "IsADirectory")

    disk.put_object("implicit/child.txt", b"c")
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("implicit", b"over an implicit directory")
    assert_s3_error(err, 409, "IsADirectory")

    # Appends follow the same rules, and are not retried.
    with pytest.raises(ArchilS3Error) as err:
        disk.append_object("f/x", b"x")
    assert_s3_error(err, 409, "NotADirectory")
    with pytest.raises(ArchilS3Error) as err:
        disk.append_object("d", b"x")
    assert_s3_error(err, 409, "IsADirectory")

    disk.put_object("d/", b"")  # an existing directory: a no-op, not an error
    root = disk.list_objects()
    assert keys_of(root) == ["f"]
    assert root.common_prefixes == ["d/", "implicit/"]
    assert keys_of(disk.list_objects(recursive=True)) == ["f", "implicit/child.txt"]


def test_directories_are_not_objects(server, disk):
    disk.put_object("d/", b"")
    disk.put_object("full/x.txt", b"x")
    for key in ("d", "d/", "full", "full/"):
        assert disk.head_object(key) is None, key
        assert disk.object_exists(key) is False, key
        with pytest.raises(ArchilS3Error) as err:
            disk.get_object(key)
        assert_s3_error(err, 404, "NoSuchKey")
    resp = raw(server.url, "HEAD", object_path(disk.id, "full"))
    assert resp.status_code == 404
    assert resp.content == b"", "HEAD has no body"


def test_deleting_directories(server, disk):
    disk.put_object("empty/", b"")
    disk.put_object("full/x.txt", b"x")

    resp = raw(server.url, "DELETE", object_path(disk.id, "empty/"))
    assert resp.status_code == 204, resp.text
    assert disk.list_objects().common_prefixes == ["full/"]

    with pytest.raises(ArchilS3Error) as err:
        disk.delete_object("full/")
    assert_s3_error(err, 409, "DirectoryNotEmpty")
    assert disk.get_object("full/x.txt") == b"x"

    result = disk.delete_objects(["full/", "gone.txt"])
    assert result.deleted == ["gone.txt"], "an absent key counts as deleted"
    [error] = result.errors
    assert (error.key, error.code) == ("full/", "DirectoryNotEmpty")
    assert error.message

    disk.delete_object("full/x.txt")
    assert disk.list_objects().common_prefixes == ["full/"], "an emptied directory persists"
    listing = disk.list_objects("full/")
    assert (listing.objects, listing.common_prefixes) == ([], [])
    disk.delete_object("full/")
    assert disk.list_objects().common_prefixes == []


def test_empty_directories_persist_after_their_last_file(disk):
    disk.put_object("tmp/a/only.txt", b"1")
    disk.delete_object("tmp/a/only.txt")
    assert disk.list_objects().common_prefixes == ["tmp/"]
    assert disk.list_objects("tmp/").common_prefixes == ["tmp/a/"]
    assert disk.list_objects(recursive=True).objects == []
    # And a new file can go back in.
    disk.put_object("tmp/a/again.txt", b"2")
    assert keys_of(disk.list_objects("tmp/a/")) == ["tmp/a/again.txt"]


# --- odd keys -------------------------------------------------------------------------


ODD_KEYS = [
    "with space.txt",
    "sp ace/inner file.txt",
    "plus+sign.txt",
    "a+b/c+d.txt",
    "percent%41.txt",
    "100%/done%20.txt",
    "ünïcödé/日本語.txt",
    "emoji/😀.bin",
    "q?uestion#hash&amp=eq.txt",
    "bang!star*quote'(paren).txt",
    "tilde~dot.-_.txt",
    "nested/dir/tree/deep/file.txt",
]


def test_odd_keys_round_trip(server, disk):
    for i, key in enumerate(ODD_KEYS):
        body = f"{i}:{key}".encode()
        assert disk.put_object(key, body).etag == md5_etag(body), key
    for i, key in enumerate(ODD_KEYS):
        assert disk.get_object(key) == f"{i}:{key}".encode(), key
        meta = disk.head_object(key)
        assert meta is not None and meta.size == len(f"{i}:{key}".encode()), key

    assert keys_of(disk.list_objects(recursive=True)) == utf8_sorted(ODD_KEYS)
    assert keys_of(disk.list_objects("sp ace/")) == ["sp ace/inner file.txt"], "form-decoded query: + is a space"
    assert keys_of(disk.list_objects("a+b/")) == ["a+b/c+d.txt"]
    assert keys_of(disk.list_objects("100%/")) == ["100%/done%20.txt"]
    assert keys_of(disk.list_objects("ünïcödé/")) == ["ünïcödé/日本語.txt"]
    root = disk.list_objects()
    assert set(root.common_prefixes) == {
        "sp ace/", "a+b/", "100%/", "ünïcödé/", "emoji/", "nested/",
    }

    # `%41` is not decoded twice: "percent%41.txt" and "percentA.txt" differ.
    assert disk.head_object("percentA.txt") is None
    # A literal + in the path is a +, never a space.
    resp = raw(server.url, "GET", f"/{disk.id}/plus+sign.txt")
    assert resp.status_code == 200 and resp.content == b"2:plus+sign.txt"
    # Raw !*'() (as the TS SDK sends them) name the same object.
    resp = raw(server.url, "GET", f"/{disk.id}/bang!star*quote'(paren).txt")
    assert resp.status_code == 200, resp.text

    result = disk.delete_objects(ODD_KEYS)
    assert sorted(result.deleted) == sorted(ODD_KEYS), "keys round-trip through the DeleteObjects XML"
    assert result.errors == []
    assert disk.list_objects(recursive=True).objects == []


# --- 2500 keys: listing pages and bulk delete ----------------------------------------


def test_2500_keys_list_in_pages_and_bulk_delete_in_batches(server, disk):
    files = [f"many/f{i:04d}" for i in range(1300)]
    leaves = [f"many/d{i:04d}/leaf" for i in range(1200)]
    every = files + leaves
    etags = put_many(disk, [(k, k.encode()) for k in every])
    assert [e.etag for e in etags] == [md5_etag(k.encode()) for k in every]

    # Recursive: 2500 files in pages of 1000.
    pages = list(disk.list_objects_pages("many/", recursive=True))
    assert [len(p.objects) for p in pages] == [1000, 1000, 500]
    assert [p.key_count for p in pages] == [1000, 1000, 500]
    assert [p.is_truncated for p in pages] == [True, True, False]
    tokens = [p.next_continuation_token for p in pages]
    assert all(tokens[:2]) and tokens[0] != tokens[1]
    assert tokens[2] is None
    assert [k for p in pages for k in keys_of(p)] == sorted(every)
    assert all(p.common_prefixes == [] for p in pages)

    everything = disk.list_objects("many/", recursive=True)
    assert len(everything.objects) == 2500
    assert keys_of(everything) == sorted(every)
    assert everything.is_truncated is False
    assert all(o.size == len(o.key) and o.etag == md5_etag(o.key.encode()) for o in everything.objects)

    # Delimited: 1200 directories and 1300 files, KeyCount counting both.
    pages = list(disk.list_objects_pages("many/"))
    assert [p.key_count for p in pages] == [1000, 1000, 500]
    assert [(len(p.common_prefixes), len(p.objects)) for p in pages] == [(1000, 0), (200, 800), (0, 500)]
    delimited = disk.list_objects("many/")
    assert delimited.common_prefixes == [f"many/d{i:04d}/" for i in range(1200)]
    assert keys_of(delimited) == files

    # One page at a time by hand.
    first = disk.list_objects("many/", recursive=True, single_page=True)
    assert (first.key_count, first.is_truncated) == (1000, True)
    assert first.next_continuation_token
    second = disk.list_objects(
        "many/", recursive=True, single_page=True, continuation_token=first.next_continuation_token
    )
    assert keys_of(second) == sorted(every)[1000:2000]
    assert keys_of(disk.list_objects("many/", recursive=True, start_after="many/f1199")) == files[1200:]
    capped = disk.list_objects("many/", recursive=True, limit=1500)
    assert (len(capped.objects), capped.is_truncated) == (1500, True)

    # Bulk delete: 2501 keys (one absent) in three requests of <= 1000.
    clear_journal(server.url)
    result = disk.delete_objects(every + ["many/absent"])
    assert sorted(result.deleted) == sorted(every + ["many/absent"])
    assert result.errors == []
    posts = [e for e in journal(server.url, "POST") if e["path"] == f"/{disk.id}"]
    assert len(posts) == 3, [e.get("query") for e in posts]
    assert all(e["status"] == 200 for e in posts)
    assert all("delete" in (e.get("query") or "") for e in posts)

    assert disk.list_objects("many/", recursive=True).objects == []
    after = disk.list_objects("many/")
    assert after.objects == []
    assert len(after.common_prefixes) == 1200, "directories outlive their files"

    quiet = disk.delete_objects(["many/d0000/", "many/d0001/"], quiet=True)
    assert (quiet.deleted, quiet.errors) == ([], [])
    assert len(disk.list_objects("many/").common_prefixes) == 1198
    assert disk.delete_objects([]).deleted == []


# --- multipart --------------------------------------------------------------------------


def test_put_object_of_40_mib_goes_multipart(server, disk):
    data = os.urandom(40 * MiB)
    parts = [data[0 : 16 * MiB], data[16 * MiB : 32 * MiB], data[32 * MiB :]]
    clear_journal(server.url)
    put = disk.put_object("video/big.bin", data, "video/mp4")
    assert put.etag == multipart_etag(parts)
    assert put.etag.endswith('-3"')

    requests = [e for e in journal(server.url) if e["path"].startswith(f"/{disk.id}")]
    ops = sorted((e["method"], "partNumber" in (e.get("query") or ""), "uploads" in (e.get("query") or "")) for e in requests)
    assert ops == sorted([("POST", False, True), ("PUT", True, False), ("PUT", True, False), ("PUT", True, False), ("POST", False, False)])
    assert all(e["status"] == 200 for e in requests), [(e["method"], e["status"]) for e in requests]

    got = disk.get_object("video/big.bin")
    assert len(got) == len(data)
    assert got == data, "multipart reassembles byte-exact"
    meta = disk.head_object("video/big.bin")
    assert (meta.size, meta.etag, meta.content_type) == (40 * MiB, put.etag, "video/mp4")
    [listed] = disk.list_objects("video/").objects
    assert (listed.size, listed.etag) == (40 * MiB, put.etag), "the -N ETag is kept for listings"
    assert disk.multipart.list_uploads().uploads == [], "a completed upload is gone"


def test_manual_multipart_lifecycle(disk):
    mp = disk.multipart
    up = mp.create("m/assembled.bin", "application/x-test", mode=0o640)
    assert up.upload_id
    assert up.key == "m/assembled.bin"
    assert up.bucket == disk.id

    p1 = os.urandom(5 * MiB)
    p2 = b"tail bytes"
    r1 = mp.upload_part("m/assembled.bin", up.upload_id, 1, p1)
    r2 = mp.upload_part("m/assembled.bin", up.upload_id, 2, p2)
    assert (r1.part_number, r1.etag) == (1, md5_etag(p1))
    assert (r2.part_number, r2.etag) == (2, md5_etag(p2))
    # Re-uploading a part replaces it.
    p2 = b"the real tail"
    r2 = mp.upload_part("m/assembled.bin", up.upload_id, 2, p2)
    assert r2.etag == md5_etag(p2)

    parts = mp.list_parts("m/assembled.bin", up.upload_id)
    assert [(p.part_number, p.size, p.etag) for p in parts.parts] == [
        (1, len(p1), md5_etag(p1)),
        (2, len(p2), md5_etag(p2)),
    ]
    assert all(p.last_modified is not None for p in parts.parts)
    assert parts.is_truncated is False
    assert parts.upload_id == up.upload_id
    assert parts.key == "m/assembled.bin"
    assert parts.bucket == disk.id
    one = mp.list_parts("m/assembled.bin", up.upload_id, max_parts=1)
    assert [p.part_number for p in one.parts] == [1]
    assert one.is_truncated is True and one.next_part_number_marker == 1
    rest = mp.list_parts("m/assembled.bin", up.upload_id, part_number_marker=1)
    assert [p.part_number for p in rest.parts] == [2]

    listing = mp.list_uploads()
    assert [(u.key, u.upload_id) for u in listing.uploads] == [("m/assembled.bin", up.upload_id)]
    assert listing.uploads[0].initiated is not None
    assert listing.bucket == disk.id
    assert [u.upload_id for u in mp.list_uploads(prefix="m/").uploads] == [up.upload_id]
    assert mp.list_uploads(prefix="other/").uploads == []
    assert disk.head_object("m/assembled.bin") is None, "nothing is visible before Complete"

    done = mp.complete("m/assembled.bin", up.upload_id, [r2, r1])  # the SDK sorts
    assert done.etag == multipart_etag([p1, p2])
    assert done.key == "m/assembled.bin"
    assert done.bucket == disk.id
    assert done.location
    assert disk.get_object("m/assembled.bin") == p1 + p2
    meta = disk.head_object("m/assembled.bin")
    assert (meta.size, meta.etag, meta.content_type) == (len(p1) + len(p2), done.etag, "application/x-test")
    assert mp.list_uploads().uploads == []

    with pytest.raises(ArchilS3Error) as err:
        mp.complete("m/assembled.bin", up.upload_id, [r1, r2])
    assert_s3_error(err, 404, "NoSuchUpload")
    with pytest.raises(ArchilS3Error) as err:
        mp.list_parts("m/assembled.bin", up.upload_id)
    assert_s3_error(err, 404, "NoSuchUpload")
    assert disk.get_object("m/assembled.bin") == p1 + p2, "a second Complete changes nothing"


def test_manual_multipart_abort(disk):
    mp = disk.multipart
    up = mp.create("aborted.bin")
    first = mp.upload_part("aborted.bin", up.upload_id, 1, b"x" * 1024)
    other = mp.create("kept.bin")
    assert other.upload_id != up.upload_id
    mp.abort("aborted.bin", up.upload_id)
    assert [u.upload_id for u in mp.list_uploads().uploads] == [other.upload_id]
    with pytest.raises(ArchilS3Error) as err:
        mp.upload_part("aborted.bin", up.upload_id, 2, b"late part")
    assert_s3_error(err, 404, "NoSuchUpload")
    with pytest.raises(ArchilS3Error) as err:
        mp.complete("aborted.bin", up.upload_id, [first])
    assert_s3_error(err, 404, "NoSuchUpload")
    mp.abort("aborted.bin", up.upload_id)  # 404 NoSuchUpload counts as success
    with pytest.raises(ArchilS3Error) as err:
        mp.upload_part("kept.bin", "no-such-upload-id", 1, b"x")
    assert_s3_error(err, 404, "NoSuchUpload")
    assert disk.head_object("aborted.bin") is None
    mp.abort("kept.bin", other.upload_id)
    assert mp.list_uploads().uploads == []


def test_complete_enforces_the_5_mib_minimum_and_part_etags(disk):
    mp = disk.multipart
    up = mp.create("small-parts.bin")
    a = mp.upload_part("small-parts.bin", up.upload_id, 1, b"a" * 1024)
    b = mp.upload_part("small-parts.bin", up.upload_id, 2, b"b" * 1024)
    with pytest.raises(ArchilS3Error) as err:
        mp.complete("small-parts.bin", up.upload_id, [a, b])
    assert_s3_error(err, 400, "EntityTooSmall")
    assert [p.part_number for p in mp.list_parts("small-parts.bin", up.upload_id).parts] == [1, 2], (
        "a rejected Complete keeps the upload"
    )
    assert disk.head_object("small-parts.bin") is None

    from archil import UploadPart

    with pytest.raises(ArchilS3Error) as err:
        mp.complete("small-parts.bin", up.upload_id, [UploadPart(part_number=1, etag=md5_etag(b"wrong"))])
    assert_s3_error(err, 400, "InvalidPart")
    with pytest.raises(ArchilS3Error) as err:
        mp.complete("small-parts.bin", up.upload_id, [UploadPart(part_number=3, etag=a.etag)])
    assert_s3_error(err, 400, "InvalidPart")

    # The last part may be small: one small part completes.
    done = mp.complete("small-parts.bin", up.upload_id, [a])
    assert done.etag == multipart_etag([b"a" * 1024])
    assert disk.get_object("small-parts.bin") == b"a" * 1024


def test_min_part_size_flag_relaxes_the_minimum(start_mock):
    server = start_mock("--min-part-size", "0")
    with sdk(server.url) as client:
        disk = new_disk(client)
        mp = disk.multipart
        up = mp.create("tiny.bin")
        parts = [b"one-", b"two-", b"three"]
        uploaded = [mp.upload_part("tiny.bin", up.upload_id, i + 1, p) for i, p in enumerate(parts)]
        done = mp.complete("tiny.bin", up.upload_id, uploaded)
        assert done.etag == multipart_etag(parts)
        assert disk.get_object("tiny.bin") == b"one-two-three"
        assert disk.head_object("tiny.bin").etag == done.etag


def test_list_uploads_prefix_delimiter_markers_and_clamps(disk):
    mp = disk.multipart
    ups = {key: mp.create(key).upload_id for key in ("x/a.bin", "x/b/c.bin", "y.bin", "x/a.bin#2")}
    listing = mp.list_uploads()
    assert sorted(u.key for u in listing.uploads) == sorted(ups)
    assert listing.max_uploads == 1000
    assert mp.list_uploads(max_uploads=5000).max_uploads == 1000, "max-uploads clamps to 1000"

    top = mp.list_uploads(delimiter="/")
    assert [u.key for u in top.uploads] == ["y.bin"]
    assert top.common_prefixes == ["x/"]
    x = mp.list_uploads(prefix="x/", delimiter="/")
    assert sorted(u.key for u in x.uploads) == ["x/a.bin", "x/a.bin#2"]
    assert x.common_prefixes == ["x/b/"]
    assert (x.prefix, x.delimiter) == ("x/", "/")

    # One at a time, following the markers.
    seen, key_marker, id_marker = [], None, None
    for _ in range(10):
        page = mp.list_uploads(max_uploads=1, key_marker=key_marker, upload_id_marker=id_marker)
        seen += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker
    assert sorted(seen) == sorted(ups.items())

    parts = mp.list_parts("y.bin", ups["y.bin"], max_parts=5000)
    assert (parts.parts, parts.max_parts) == ([], 1000), "max-parts clamps to 1000"


def test_flags_are_detected_by_presence_and_part_content_type_is_ignored(server, disk):
    resp = raw(server.url, "POST", f"/{disk.id}/flag.bin?uploads")
    assert resp.status_code == 200, resp.text
    upload_id = resp.text.split("<UploadId>")[1].split("</UploadId>")[0]
    # The TS SDK sends UploadPart with Content-Type: application/json.
    resp = raw(
        server.url,
        "PUT",
        f"/{disk.id}/flag.bin",
        params={"uploadId": upload_id, "partNumber": "1"},
        headers={"Content-Type": "application/json"},
        content=b"not json at all",
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["etag"] == md5_etag(b"not json at all")
    done = disk.multipart.complete("flag.bin", upload_id, [__import__("archil").UploadPart(1, resp.headers["etag"])])
    assert done.etag == multipart_etag([b"not json at all"])
    assert disk.head_object("flag.bin").content_type == "application/octet-stream"
    resp = raw(server.url, "GET", f"/{disk.id}?uploads")
    assert resp.status_code == 200 and "ListMultipartUploadsResult" in resp.text


def test_concurrent_appends_keep_every_byte(disk):
    async def run():
        return await asyncio.gather(*(disk.append_object.aio("conc.log", f"{i:03d};") for i in range(40)))

    results = asyncio.run(run())
    data = disk.get_object("conc.log")
    assert len(data) == 40 * 4
    assert sorted(data.decode().split(";")[:-1]) == [f"{i:03d}" for i in range(40)]
    assert md5_etag(data) in {r.etag for r in results}, "the last append's ETag is the whole object's"
    assert disk.head_object("conc.log").etag == md5_etag(data)


def test_dot_segments_cannot_reach_another_accounts_disk(start_mock):
    alice_key, bob_key = "key-alice-dots-0001", "key-bob-dots-0002"
    server = start_mock("--api-key", f"alice={alice_key}", "--api-key", f"bob={bob_key}")
    with sdk(server.url, alice_key) as alice, sdk(server.url, bob_key) as bob:
        mine, other = new_disk(alice), new_disk(alice)
        theirs = new_disk(bob)
        theirs.put_object("secret.txt", b"bob only")
        other.put_object("shared.txt", b"alice's other disk")
        # httpx resolves the `..`: the request goes to the other bucket.
        with pytest.raises(ArchilS3Error) as err:
            mine.get_object(f"x/../../{theirs.id}/secret.txt")
        assert_s3_error(err, 404, "NoSuchBucket")
        with pytest.raises(ArchilS3Error) as err:
            mine.put_object(f"../{theirs.id}/planted.txt", b"x")
        assert_s3_error(err, 404, "NoSuchBucket")
        assert theirs.head_object("planted.txt") is None
        assert mine.get_object(f"../{other.id}/shared.txt") == b"alice's other disk", "authorized per bucket"


@pytest.mark.parametrize(
    "key, code",
    [("a//b.txt", "InvalidArgument"), ("k" * 1025, "KeyTooLongError"), ("dir/\x00/x", "InvalidArgument")],
)
def test_keys_the_directory_store_refuses_are_400(disk, key, code):
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object(key, b"x")
    assert_s3_error(err, 400, code)
    assert disk.list_objects(recursive=True).objects == []


def test_a_directory_marker_with_a_body_is_400(disk):
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("dir/", b"content")
    assert_s3_error(err, 400, "InvalidRequest")
    assert disk.list_objects().common_prefixes == []


# --- the FileSystem protocol, a Workspace, agent tools ------------------------------------


def exercise_filesystem(fs, key: str, body: bytes) -> None:
    """The FileSystem surface a Disk and a Workspace share."""
    assert isinstance(fs, FileSystem)
    fs.put_object(key, body, "text/plain")
    assert fs.get_object(key) == body
    parent = key.rsplit("/", 1)[0] + "/"
    assert key in keys_of(fs.list_objects(parent))
    assert key in keys_of(fs.list_objects(parent, recursive=True))
    fs.delete_object(key)
    assert key not in keys_of(fs.list_objects(parent, recursive=True))
    with pytest.raises(ArchilS3Error) as err:
        fs.get_object(key)
    assert err.value.status == 404


def test_disk_and_workspace_are_filesystems(client, disk):
    exercise_filesystem(disk, "fs/one.txt", b"one")
    ws = client.workspace({"data": disk})
    exercise_filesystem(ws, "data/fs/two.txt", b"two")
    assert disk.list_objects("fs/").objects == []
    assert disk.list_objects().common_prefixes == ["fs/"]


def test_workspace_routes_keys_to_disks(client):
    data, cache = new_disk(client, "ws-data"), new_disk(client, "ws-cache")
    ws = client.workspace(
        {
            "data": data,
            "cache": ExecMountSpec(disk=cache, subdirectory="sub"),
            "ro": ExecMountSpec(disk=data, read_only=True),
        }
    )
    assert sorted(ws.disk_names()) == ["cache", "data", "ro"]

    assert ws.put_object("data/notes/a.txt", "alpha").etag == md5_etag(b"alpha")
    ws.put_object("cache/x.bin", b"\x00\x01")
    assert data.get_object("notes/a.txt") == b"alpha"
    assert cache.get_object("sub/x.bin") == b"\x00\x01", "a subdirectory mount prefixes keys"
    assert ws.get_object("cache/x.bin") == b"\x00\x01"
    assert ws.get_object("ro/notes/a.txt") == b"alpha"

    top = ws.list_objects()
    assert (top.objects, top.common_prefixes) == ([], ["cache/", "data/", "ro/"])
    assert ws.list_objects("data").common_prefixes == ["data/notes/"]
    assert keys_of(ws.list_objects("data/notes/")) == ["data/notes/a.txt"]
    assert keys_of(ws.list_objects("cache/")) == ["cache/x.bin"]
    everything = ws.list_objects(recursive=True)
    assert keys_of(everything) == ["cache/x.bin", "data/notes/a.txt", "ro/notes/a.txt"]
    assert everything.is_truncated is False
    assert [o.size for o in everything.objects] == [2, 5, 5]

    with pytest.raises(ValueError):
        ws.put_object("ro/nope.txt", "x")
    with pytest.raises(ValueError):
        ws.delete_object("ro/notes/a.txt")
    with pytest.raises(ValueError):
        ws.get_object("nosuchmount/x")

    ws.delete_object("data/notes/a.txt")
    assert data.head_object("notes/a.txt") is None
    assert keys_of(ws.list_objects(recursive=True)) == ["cache/x.bin"]


def test_agent_file_tools_on_a_disk(disk):
    tools = {t.name: t for t in disk.agent_tools().tools}
    assert {"read_file", "write_file", "delete_file", "list_files"} <= set(tools)

    assert invoke(tools["write_file"], {"path": "/notes/todo.md", "content": "buy milk\n"}) == (
        "Wrote 9 bytes to /notes/todo.md."
    )
    assert disk.get_object("notes/todo.md") == b"buy milk\n"
    assert invoke(tools["read_file"], {"path": "/notes/todo.md"}) == "buy milk\n"
    assert invoke(tools["read_file"], {"path": "notes/todo.md"}) == "buy milk\n"
    assert invoke(tools["read_file"], {"path": "/mnt/notes/todo.md"}) == "buy milk\n"
    assert invoke(tools["read_file"], {"path": "/notes/../notes/./todo.md"}) == "buy milk\n"
    assert invoke(tools["read_file"], {"path": "/notes/missing.md"}) == "Error: file not found: /notes/missing.md"

    assert invoke(tools["write_file"], {"path": "/notes/empty.txt", "content": ""}) == "Wrote 0 bytes to /notes/empty.txt."
    assert invoke(tools["read_file"], {"path": "/notes/empty.txt"}) == "/notes/empty.txt is empty."
    disk.put_object("bin.dat", b"\xff\xfe\x00")
    assert invoke(tools["read_file"], {"path": "/bin.dat"}) == (
        "/bin.dat is a binary file (3 bytes) and cannot be shown as text."
    )

    assert invoke(tools["list_files"], {"path": "/notes"}) == (
        "Contents of /notes:\nfile  /notes/empty.txt  (0 bytes)\nfile  /notes/todo.md  (9 bytes)"
    )
    assert invoke(tools["list_files"], {}) == "Contents of /:\ndir   /notes/\nfile  /bin.dat  (3 bytes)"
    assert invoke(tools["list_files"], {"path": "/", "recursive": True}) == (
        "Contents of /:\nfile  /bin.dat  (3 bytes)\nfile  /notes/empty.txt  (0 bytes)\nfile  /notes/todo.md  (9 bytes)"
    )

    assert invoke(tools["delete_file"], {"path": "/notes/todo.md"}) == "Deleted /notes/todo.md."
    assert invoke(tools["delete_file"], {"path": "/notes/empty.txt"}) == "Deleted /notes/empty.txt."
    assert invoke(tools["delete_file"], {"path": "/notes/never.txt"}) == "Deleted /notes/never.txt."
    assert invoke(tools["list_files"], {"path": "/notes"}) == "/notes is empty or does not exist."
    assert invoke(tools["list_files"], {}) == "Contents of /:\ndir   /notes/\nfile  /bin.dat  (3 bytes)", (
        "the emptied directory persists"
    )


def test_agent_file_tools_on_a_workspace(client):
    a, b = new_disk(client, "tools-a"), new_disk(client, "tools-b")
    tools = {t.name: t for t in client.workspace({"alpha": a, "beta": b}).agent_tools().tools}
    assert invoke(tools["write_file"], {"path": "/alpha/x.txt", "content": "xx"}) == "Wrote 2 bytes to /alpha/x.txt."
    assert invoke(tools["write_file"], {"path": "/mnt/archil/beta/y/z.txt", "content": "zzz"}) == (
        "Wrote 3 bytes to /mnt/archil/beta/y/z.txt."
    )
    assert a.get_object("x.txt") == b"xx"
    assert b.get_object("y/z.txt") == b"zzz"
    assert invoke(tools["list_files"], {}) == "Contents of /:\ndir   /alpha/\ndir   /beta/"
    assert invoke(tools["list_files"], {"path": "/beta"}) == "Contents of /beta:\ndir   /beta/y/"
    assert invoke(tools["list_files"], {"path": "/", "recursive": True}) == (
        "Contents of /:\nfile  /alpha/x.txt  (2 bytes)\nfile  /beta/y/z.txt  (3 bytes)"
    )
    assert invoke(tools["read_file"], {"path": "/beta/y/z.txt"}) == "zzz"
    assert invoke(tools["read_file"], {"path": "/beta/nope"}) == "Error: file not found: /beta/nope"


# --- share URLs -----------------------------------------------------------------------------


def test_share_urls_download_without_auth(server, client, disk):
    body = os.urandom(2048)
    disk.put_object("reports/2026 q1+final.pdf", body, "application/pdf")
    shared = disk.share("reports/2026 q1+final.pdf", expires_in=120)
    assert shared.expires_in == 120
    assert shared.url.startswith(f"{server.url}/api/shared/"), shared.url
    token = shared.url[len(f"{server.url}/api/shared/") :]
    assert token and "/" not in token

    resp = httpx.get(shared.url)
    assert resp.status_code == 200, resp.text
    assert resp.content == body
    assert "authorization" not in resp.request.headers

    default = disk.share("reports/2026 q1+final.pdf")
    assert default.expires_in == 86400
    assert default.url != shared.url
    assert httpx.get(default.url).content == body
    assert disk.share("reports/2026 q1+final.pdf", expires_in=604800).expires_in == 604800

    # The first character carries six whole bits of any encoding, so changing it always tampers.
    tampered = f"{server.url}/api/shared/" + ("x" if token[0] != "x" else "y") + token[1:]
    assert httpx.get(tampered).status_code in (403, 404)
    assert httpx.get(f"{server.url}/api/shared/not-a-token").status_code in (403, 404)

    for bad in (0, -1, 604801):
        with pytest.raises(ArchilApiError) as err:
            disk.share("reports/2026 q1+final.pdf", expires_in=bad)
        assert err.value.status == 400, bad

    # The link serves what is stored now; a deleted object is gone.
    disk.put_object("reports/2026 q1+final.pdf", b"v2")
    assert httpx.get(shared.url).content == b"v2"
    disk.delete_object("reports/2026 q1+final.pdf")
    assert httpx.get(shared.url).status_code == 404


def test_share_links_expire(disk):
    disk.put_object("short.txt", b"short-lived")
    shared = disk.share("short.txt", expires_in=1)
    assert httpx.get(shared.url).content == b"short-lived"
    time.sleep(2.2)
    resp = httpx.get(shared.url)
    assert resp.status_code in (403, 404, 410), resp.status_code
    assert resp.content != b"short-lived"


def test_share_needs_a_disk_of_your_account(start_mock):
    alice_key, bob_key = "key-alice-share-0001", "key-bob-share-0002"
    server = start_mock("--api-key", f"alice={alice_key}", "--api-key", f"bob={bob_key}")
    with sdk(server.url, alice_key) as alice:
        disk = new_disk(alice)
        disk.put_object("x.txt", b"x")
    resp = raw(server.url, "POST", f"/api/disks/{disk.id}/share", key=bob_key, json={"key": "x.txt"})
    assert resp.status_code == 404, resp.text
    resp = raw(server.url, "POST", f"/api/disks/{disk.id}/share", key=alice_key, json={"key": "x.txt"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["success"] is True
    assert httpx.get(resp.json()["data"]["url"]).content == b"x"


# --- faults: retries and lost responses ---------------------------------------------------


def test_a_503_twice_is_retried_through(server, disk):
    add_fault(server.url, {"method": "PUT", "path": "/dsk-*/**", "status": 503, "times": 2})
    put = disk.put_object("retry.txt", b"third time lucky")
    assert put.etag == md5_etag(b"third time lucky")
    puts = [e for e in journal(server.url, "PUT", "/dsk-*/**") if e["path"] == f"/{disk.id}/retry.txt"]
    assert [e["status"] for e in puts] == [503, 503, 200]
    assert [bool(e.get("fault")) for e in puts] == [True, True, False]
    assert disk.get_object("retry.txt") == b"third time lucky"


def test_append_is_not_retried(server, disk):
    add_fault(server.url, {"method": "PUT", "path": "/dsk-*/**", "status": 503, "times": 1})
    with pytest.raises(ArchilS3Error) as err:
        disk.append_object("once.log", b"x")
    assert err.value.status == 503
    attempts = [e for e in journal(server.url, "PUT") if e["path"] == f"/{disk.id}/once.log"]
    assert [e["status"] for e in attempts] == [503], "append is never retried"
    assert disk.head_object("once.log") is None, "a before-phase fault executes nothing"
    assert disk.append_object("once.log", b"x").etag == md5_etag(b"x")


def test_four_503s_exhaust_the_retries(server, disk):
    add_fault(server.url, {"method": "GET", "path": f"/{disk.id}/**", "status": 503, "times": 4})
    disk.put_object("flaky.txt", b"f")
    with pytest.raises(ArchilS3Error) as err:
        disk.get_object("flaky.txt")
    assert err.value.status == 503
    gets = [e for e in journal(server.url, "GET") if e["path"] == f"/{disk.id}/flaky.txt"]
    assert [e["status"] for e in gets] == [503, 503, 503, 503], "1 try + 3 retries"
    assert disk.get_object("flaky.txt") == b"f"


def test_a_lost_complete_response_raises_but_the_object_exists(server, disk):
    mp = disk.multipart
    p1, p2 = os.urandom(5 * MiB), b"end"
    up = mp.create("lost/complete.bin")
    parts = [mp.upload_part("lost/complete.bin", up.upload_id, 1, p1), mp.upload_part("lost/complete.bin", up.upload_id, 2, p2)]
    fault = add_fault(server.url, {"method": "POST", "path": "/dsk-*/**", "status": 500, "phase": "after", "times": 1})
    with pytest.raises(ArchilS3Error) as err:
        mp.complete("lost/complete.bin", up.upload_id, parts)
    assert err.value.status == 500
    completes = [e for e in journal(server.url, "POST") if e["path"] == f"/{disk.id}/lost/complete.bin"]
    assert [(e["status"], e.get("fault")) for e in completes][-1] == (500, fault)
    assert len([e for e in completes if "uploadId" in (e.get("query") or "")]) == 1, "Complete is never retried"

    assert disk.get_object("lost/complete.bin") == p1 + p2, "the complete ran; only its answer was lost"
    assert disk.head_object("lost/complete.bin").etag == multipart_etag([p1, p2])
    with pytest.raises(ArchilS3Error) as err:
        mp.complete("lost/complete.bin", up.upload_id, parts)
    assert_s3_error(err, 404, "NoSuchUpload")


def test_put_object_multipart_with_a_lost_complete(server, disk):
    data = os.urandom(11 * MiB)
    # Only Complete carries Content-Type: application/xml (create sends none).
    add_fault(
        server.url,
        {
            "method": "POST",
            "path": "/dsk-*/**",
            "header": {"name": "content-type", "value": "application/xml"},
            "status": 500,
            "phase": "after",
            "times": 1,
        },
    )
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("lost/auto.bin", data, multipart_threshold=5 * MiB, part_size=5 * MiB)
    assert err.value.status == 500
    # The SDK then aborted the (already completed) upload; its 404 is swallowed.
    assert disk.get_object("lost/auto.bin") == data
    parts = [data[0 : 5 * MiB], data[5 * MiB : 10 * MiB], data[10 * MiB :]]
    assert disk.head_object("lost/auto.bin").etag == multipart_etag(parts)
    assert disk.multipart.list_uploads().uploads == []


# --- keys, accounts, unknown disks -----------------------------------------------------------


def test_a_wrong_or_missing_key_is_403_access_denied(server, disk):
    disk.put_object("secret.txt", b"s")
    for key in ("key-wrong-0000", "", None):
        resp = raw(server.url, "GET", object_path(disk.id, "secret.txt"), key=key)
        assert resp.status_code == 403, (key, resp.text)
        assert xml_error_code(resp) == "AccessDenied"
        assert resp.headers["content-type"].startswith(("application/xml", "text/xml"))
    resp = raw(server.url, "PUT", object_path(disk.id, "secret.txt"), key="key-wrong-0000", content=b"overwritten")
    assert resp.status_code == 403
    assert xml_error_code(resp) == "AccessDenied"
    resp = raw(server.url, "GET", f"/{disk.id}", key="key-wrong-0000", params={"list-type": "2"})
    assert resp.status_code == 403
    assert xml_error_code(resp) == "AccessDenied"
    resp = raw(server.url, "POST", f"/{disk.id}", key="key-wrong-0000", params={"delete": ""},
               content=b'<Delete><Object><Key>secret.txt</Key></Object></Delete>')
    assert resp.status_code == 403
    resp = raw(server.url, "HEAD", object_path(disk.id, "secret.txt"), key="key-wrong-0000")
    assert resp.status_code == 403 and resp.content == b""
    # A wrong key on an unknown disk is still 403: nothing is revealed.
    resp = raw(server.url, "GET", "/dsk-0000000000000000/x", key="key-wrong-0000")
    assert resp.status_code == 403
    assert disk.get_object("secret.txt") == b"s", "nothing was overwritten or deleted"


def test_another_accounts_disk_is_no_such_bucket(start_mock):
    alice_key, bob_key = "key-alice-objects-0001", "key-bob-objects-0002"
    server = start_mock("--api-key", f"alice={alice_key}", "--api-key", f"bob={bob_key}")
    with sdk(server.url, alice_key) as alice:
        disk = new_disk(alice)
        disk.put_object("private.txt", b"alice only")
    for method, path, kwargs in [
        ("GET", object_path(disk.id, "private.txt"), {}),
        ("PUT", object_path(disk.id, "private.txt"), {"content": b"bob was here"}),
        ("PUT", object_path(disk.id, "bob.txt"), {"content": b"bob was here"}),
        ("DELETE", object_path(disk.id, "private.txt"), {}),
        ("GET", f"/{disk.id}", {"params": {"list-type": "2"}}),
        ("POST", object_path(disk.id, "up.bin"), {"params": {"uploads": ""}}),
    ]:
        resp = raw(server.url, method, path, key=bob_key, **kwargs)
        assert resp.status_code == 404, (method, path, resp.status_code, resp.text)
        assert xml_error_code(resp) == "NoSuchBucket", (method, path)
    resp = raw(server.url, "HEAD", object_path(disk.id, "private.txt"), key=bob_key)
    assert resp.status_code == 404
    with sdk(server.url, alice_key) as alice:
        again = alice.disks.get(disk.id)
        assert again.get_object("private.txt") == b"alice only"
        assert keys_of(again.list_objects(recursive=True)) == ["private.txt"]


def test_an_unknown_disk_is_404_no_such_bucket(server, client):
    resp = raw(server.url, "GET", "/dsk-0000000000000000/x.txt")
    assert resp.status_code == 404
    assert xml_error_code(resp) == "NoSuchBucket"
    resp = raw(server.url, "PUT", "/dsk-0000000000000000/x.txt", content=b"x")
    assert resp.status_code == 404
    assert xml_error_code(resp) == "NoSuchBucket"
    resp = raw(server.url, "GET", "/dsk-0000000000000000", params={"list-type": "2"})
    assert resp.status_code == 404
    assert xml_error_code(resp) == "NoSuchBucket"

    # Through the SDK: a disk deleted under a live Disk object.
    disk = new_disk(client)
    disk.put_object("x.txt", b"x")
    disk.delete()
    with pytest.raises(ArchilS3Error) as err:
        disk.get_object("x.txt")
    assert_s3_error(err, 404, "NoSuchBucket")
    with pytest.raises(ArchilS3Error) as err:
        disk.put_object("y.txt", b"y")
    assert_s3_error(err, 404, "NoSuchBucket")
    with pytest.raises(ArchilS3Error) as err:
        disk.list_objects()
    assert_s3_error(err, 404, "NoSuchBucket")
    assert disk.head_object("x.txt") is None, "HEAD maps any 404 to None"
    disk.delete_object("x.txt")  # 404 counts as success


# --- ranges, sizes, deleting disks -------------------------------------------------------------


def test_a_single_range_is_206(server, disk):
    disk.put_object("digits.txt", b"0123456789")
    resp = raw(server.url, "GET", object_path(disk.id, "digits.txt"), headers={"Range": "bytes=2-5"})
    assert resp.status_code == 206, resp.text
    assert resp.content == b"2345"
    assert resp.headers["content-range"] == "bytes 2-5/10"
    assert resp.headers["content-length"] == "4"
    full = raw(server.url, "GET", object_path(disk.id, "digits.txt"))
    assert (full.status_code, full.content) == (200, b"0123456789")


def test_disk_sizes_follow_what_is_stored(server, client, disk):
    """dataSize = activeDataBytes = the bytes stored now; totalDataBytes counts
    what was written (it never drops on delete)."""
    data = disk_json(server.url, disk.id)
    assert (data["dataSize"], data["activeDataBytes"], data["totalDataBytes"]) == (0, 0, 0)
    disk.put_object("a.bin", b"a" * 1000)
    disk.put_object("b/c.bin", b"c" * 234)
    data = disk_json(server.url, disk.id)
    assert (data["dataSize"], data["activeDataBytes"], data["totalDataBytes"]) == (1234, 1234, 1234)
    disk.append_object("b/c.bin", b"d" * 16)
    data = disk_json(server.url, disk.id)
    assert (data["dataSize"], data["activeDataBytes"]) == (1250, 1250)
    assert data["totalDataBytes"] >= 1250
    written = data["totalDataBytes"]
    fresh = client.disks.get(disk.id)
    assert (fresh.active_data_bytes, fresh.total_data_bytes) == (1250, written)

    disk.put_object("a.bin", b"a" * 10)  # an overwrite shrinks what is stored
    disk.delete_object("b/c.bin")
    data = disk_json(server.url, disk.id)
    assert (data["dataSize"], data["activeDataBytes"]) == (10, 10)
    assert data["totalDataBytes"] == written + 10, "a write adds to the total; a delete takes nothing away"
    listed = [d for d in client.disks.list() if d.id == disk.id]
    assert [d.active_data_bytes for d in listed] == [10]


def test_deleting_a_disk_deletes_its_contents(server, client):
    disk = new_disk(client, "doomed")
    disk.put_object("x.txt", b"x")
    disk.multipart.create("pending.bin")
    disk.delete()
    resp = raw(server.url, "GET", object_path(disk.id, "x.txt"))
    assert resp.status_code == 404
    assert xml_error_code(resp) == "NoSuchBucket"
    again = client.disks.create(name=disk.name).disk
    assert again.id != disk.id
    assert again.list_objects(recursive=True).objects == []
    assert again.multipart.list_uploads().uploads == []


# --- storage flags ----------------------------------------------------------------------------


def files_with_content(root: Path, content: bytes) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file() and p.stat().st_size == len(content) and p.read_bytes() == content
    ]


def test_data_dir_keeps_objects_and_disks_across_restarts(start_mock, tmp_path):
    data_dir = tmp_path / "data"
    payload = os.urandom(64 * 1024)
    server = start_mock("--data-dir", str(data_dir), "--min-part-size", "0")
    with sdk(server.url) as client:
        disk = new_disk(client, "durable")
        put = disk.put_object("docs/readme.md", payload, "text/markdown")
        disk.put_object("keep/", b"")
        disk.append_object("log.txt", b"one\n")
        disk.append_object("log.txt", b"two\n")
        mp = disk.multipart
        up = mp.create("mp.bin")
        done = mp.complete(
            "mp.bin", up.upload_id, [mp.upload_part("mp.bin", up.upload_id, 1, b"ab"), mp.upload_part("mp.bin", up.upload_id, 2, b"cd")]
        )
        pending = mp.create("pending.bin")
        before = disk.head_object("docs/readme.md")
    assert files_with_content(data_dir, payload), "objects are stored under --data-dir"
    assert server.stop() == 0

    server = start_mock("--data-dir", str(data_dir), "--min-part-size", "0")
    with sdk(server.url) as client:
        disk = client.disks.get(disk.id)
        assert disk.name.startswith("durable-")
        assert disk.get_object("docs/readme.md") == payload
        meta = disk.head_object("docs/readme.md")
        assert (meta.size, meta.etag, meta.content_type) == (len(payload), put.etag, "text/markdown")
        assert meta.last_modified == before.last_modified
        assert disk.get_object("log.txt") == b"one\ntwo\n"
        assert disk.head_object("log.txt").etag == md5_etag(b"one\ntwo\n")
        assert disk.get_object("mp.bin") == b"abcd"
        assert disk.head_object("mp.bin").etag == done.etag == multipart_etag([b"ab", b"cd"])
        root = disk.list_objects()
        assert keys_of(root) == ["log.txt", "mp.bin"]
        assert root.common_prefixes == ["docs/", "keep/"]
        assert disk_json(server.url, disk.id)["activeDataBytes"] == len(payload) + 8 + 4
        assert disk.multipart.list_uploads().uploads == [], "open uploads do not survive a restart"
        with pytest.raises(ArchilS3Error) as err:
            disk.multipart.list_parts("pending.bin", pending.upload_id)
        assert_s3_error(err, 404, "NoSuchUpload")

        disk.delete()
    assert files_with_content(data_dir, payload) == [], "deleting the disk deletes its files"


def test_max_object_bytes(start_mock):
    server = start_mock("--max-object-bytes", "1024")
    with sdk(server.url) as client:
        disk = new_disk(client)
        assert disk.put_object("fits.bin", b"x" * 1024).etag == md5_etag(b"x" * 1024)
        with pytest.raises(ArchilS3Error) as err:
            disk.put_object("too-big.bin", b"x" * 1025)
        assert_s3_error(err, 400, "EntityTooLarge")
        assert disk.head_object("too-big.bin") is None
        disk.put_object("grow.bin", b"x" * 1000)
        with pytest.raises(ArchilS3Error) as err:
            disk.append_object("grow.bin", b"y" * 25)
        assert_s3_error(err, 400, "EntityTooLarge")
        assert disk.head_object("grow.bin").size == 1000
        assert disk.append_object("grow.bin", b"y" * 24).etag == md5_etag(b"x" * 1000 + b"y" * 24)


def test_max_memory_bytes(start_mock):
    server = start_mock("--max-memory-bytes", "100000")
    with sdk(server.url) as client:
        disk = new_disk(client)
        disk.put_object("first.bin", b"1" * 60000)
        with pytest.raises(ArchilS3Error) as err:
            disk.put_object("second.bin", b"2" * 60000)
        assert_s3_error(err, 507, "InsufficientStorage")
        assert disk.head_object("second.bin") is None
        assert disk.get_object("first.bin") == b"1" * 60000
        disk.delete_object("first.bin")
        assert disk.put_object("second.bin", b"2" * 60000).etag == md5_etag(b"2" * 60000)

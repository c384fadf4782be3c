"""Azure Blob Storage contexts against Azurite: kaniko's https://ACCOUNT.blob.core.windows.net/
form and azblob://, the endpoint overridden by AZURE_STORAGE_CONNECTION_STRING's BlobEndpoint."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from executor.contexts.azure import AzureBlobArchive, resolve_access
from executor.contexts.errors import ContextError
from tests.contexts.helpers import (
    DOCKERFILE,
    assert_one_line_error,
    build_from,
    context_files,
    context_tar,
    manifest_exists,
)
from tests.contexts.servers import AzuriteServer
from tests.support.registry import RunningRegistry

CONTAINER = "lamina-contexts"
BLOB = "builds/42/context.tar"
KANIKO_URL = f"https://devstoreaccount1.blob.core.windows.net/{CONTAINER}/{BLOB}"
# More than two of the 4 MiB chunks the blob is read in, and incompressible: the download takes
# several ranged GETs, each handed to the extractor as it comes.
BIG = os.urandom(9 << 20)
# Whatever Azure settings this machine has must not reach the executor.
NO_AZURE = {"AZURE_STORAGE_ACCESS_KEY": "", "AZURE_STORAGE_KEY": "", "AZURE_STORAGE_ACCOUNT": "",
            "AZURE_STORAGE_CONNECTION_STRING": ""}


@pytest.fixture(scope="module")
def azure_container(azurite_server: AzuriteServer) -> str:
    service = BlobServiceClient.from_connection_string(azurite_server.connection_string)
    container = service.create_container(CONTAINER)
    container.upload_blob(BLOB, context_tar({"marker.txt": "from azure\n", "src/app.py": "print('az')\n",
                                             "big.bin": BIG}, gz=False))
    container.upload_blob("builds/43/context.tar.gz", context_tar({"marker.txt": "gzipped\n"}))
    return CONTAINER


def kaniko_env(server: AzuriteServer, key: str) -> dict[str, str]:
    """kaniko's way: the key in AZURE_STORAGE_ACCESS_KEY, the account from the URL; only the
    endpoint comes from the connection string."""
    return {**NO_AZURE, "AZURE_STORAGE_ACCESS_KEY": key,
            "AZURE_STORAGE_CONNECTION_STRING": f"BlobEndpoint={server.endpoint}"}


def test_kaniko_url_form(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                         azurite_server: AzuriteServer, azure_container: str) -> None:
    run, dest = build_from(tmp_path, registry, busybox_image, KANIKO_URL,
                           env=kaniko_env(azurite_server, azurite_server.key))
    assert run.returncode == 0, run.stderr
    files = context_files(registry, dest, tmp_path)
    assert files == {"Dockerfile": DOCKERFILE.encode(), "marker.txt": b"from azure\n",
                     "src/app.py": b"print('az')\n", "big.bin": BIG}
    assert azurite_server.key not in run.stderr  # nor its signatures: the SDK's dump is debug-only
    assert "Request headers" not in run.stderr, run.stderr


def test_azblob_form_with_a_connection_string(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                              azurite_server: AzuriteServer, azure_container: str) -> None:
    env = {**NO_AZURE, "AZURE_STORAGE_CONNECTION_STRING": azurite_server.connection_string}
    run, dest = build_from(tmp_path, registry, busybox_image,
                           f"azblob://{azure_container}/builds/43/context.tar.gz", env=env)
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path) == {"Dockerfile": DOCKERFILE.encode(),
                                                       "marker.txt": b"gzipped\n"}


WRONG_KEY = base64.b64encode(b"not the account key, but a well-formed one" * 2).decode()


@pytest.mark.parametrize("context, key, fragment", [
    (f"https://devstoreaccount1.blob.core.windows.net/{CONTAINER}/builds/44/context.tar.gz", "right",
     "no blob 'builds/44/context.tar.gz' in container 'lamina-contexts'"),
    ("https://devstoreaccount1.blob.core.windows.net/no-such-container/c.tar.gz", "right",
     "container 'no-such-container' does not exist"),
    (KANIKO_URL, WRONG_KEY, "refused the credentials (AZURE_STORAGE_ACCESS_KEY): HTTP 403"),
    (KANIKO_URL, "not base64!", "AZURE_STORAGE_ACCESS_KEY is not a storage account access key"),
    (KANIKO_URL, "", "AZURE_STORAGE_ACCESS_KEY is not set"),
])
def test_missing_blob_and_bad_keys(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                   azurite_server: AzuriteServer, azure_container: str,
                                   context: str, key: str, fragment: str) -> None:
    key = azurite_server.key if key == "right" else key
    run, dest = build_from(tmp_path, registry, busybox_image, context, env=kaniko_env(azurite_server, key))
    line = assert_one_line_error(run, context, fragment)
    assert not manifest_exists(registry, dest)
    assert azurite_server.key not in line


# --- which account, endpoint and credential (no I/O) --------------------------------------

KEY = base64.b64encode(b"k" * 64).decode()


def test_kaniko_form_reads_the_account_from_the_host_and_the_key_from_the_environment() -> None:
    archive = AzureBlobArchive("c", "p/ctx.tar.gz", account="acme", endpoint_suffix="core.chinacloudapi.cn")
    access = resolve_access(archive, {"AZURE_STORAGE_ACCESS_KEY": KEY})
    assert access.endpoint == "https://acme.blob.core.chinacloudapi.cn"
    assert access.credential == {"account_name": "acme", "account_key": KEY}
    assert KEY not in repr(access)


def test_connection_string_gives_endpoint_account_and_key() -> None:
    settings = f"DefaultEndpointsProtocol=http;AccountName=dev;AccountKey={KEY};BlobEndpoint=http://h:1/dev/"
    access = resolve_access(AzureBlobArchive("c", "b"), {"AZURE_STORAGE_CONNECTION_STRING": settings})
    assert (access.account, access.endpoint) == ("dev", "http://h:1/dev")
    assert access.credential == {"account_name": "dev", "account_key": KEY}
    # AZURE_STORAGE_ACCESS_KEY (kaniko's) wins over the connection string's key
    other = base64.b64encode(b"o" * 64).decode()
    access = resolve_access(AzureBlobArchive("c", "b"), {"AZURE_STORAGE_CONNECTION_STRING": settings,
                                                         "AZURE_STORAGE_ACCESS_KEY": other})
    assert access.credential == {"account_name": "dev", "account_key": other}


def test_sas_in_the_url_or_the_connection_string() -> None:
    archive = AzureBlobArchive("c", "b", account="acme", sas="sv=2024&sig=abc")
    assert archive.describe() == "https://acme.blob.core.windows.net/c/b?..."
    assert resolve_access(archive, {}).credential == "sv=2024&sig=abc"
    access = resolve_access(AzureBlobArchive("c", "b"), {
        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=acme;SharedAccessSignature=sv=1&sig=x=="})
    assert (access.endpoint, access.credential) == ("https://acme.blob.core.windows.net", "sv=1&sig=x==")


@pytest.mark.parametrize("archive, env, fragment", [
    (AzureBlobArchive("c", "b"), {"AZURE_STORAGE_ACCESS_KEY": KEY}, "no storage account"),
    (AzureBlobArchive("c", "b", account="acme"),
     {"AZURE_STORAGE_CONNECTION_STRING": f"AccountName=other;AccountKey={KEY}"},
     "AZURE_STORAGE_CONNECTION_STRING is for account 'other'"),
    (AzureBlobArchive("c", "b", account="acme"), {"AZURE_STORAGE_CONNECTION_STRING": "garbage"},
     "KEY=VALUE"),
    (AzureBlobArchive("c", "b", account="acme"), {}, "AZURE_STORAGE_ACCESS_KEY is not set"),
])
def test_what_is_missing_is_named(archive: AzureBlobArchive, env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ContextError, match=fragment):
        resolve_access(archive, env)

"""Azure Blob Storage contexts, read with azure-storage-blob.

kaniko's form is ``https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH.tar.gz`` (and the China,
Germany and US Government clouds' hosts) with the account's key in ``AZURE_STORAGE_ACCESS_KEY``;
the account is the first label of the host. lamina also takes ``azblob://CONTAINER/PATH.tar.gz``
with the account from ``AZURE_STORAGE_ACCOUNT`` or the connection string.

``AZURE_STORAGE_CONNECTION_STRING`` (the Azure SDKs' and the az CLI's variable) may give the
account, its key or a SAS, and a ``BlobEndpoint`` that replaces the account's public endpoint:
how Azurite (``http://127.0.0.1:10000/devstoreaccount1``) or a private endpoint is reached.
kaniko has no such override; it always talks to the URL's host.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast
from urllib.parse import unquote, urlsplit

from executor.http import make_session, user_agent

from .base import ArchiveSource, Download
from .errors import ContextError

__all__ = ["AzureAccess", "AzureBlobArchive", "parse_azblob", "parse_azure_url", "resolve_access"]

# The blob is read in ranged GETs of this size, the first one included: memory stays at one chunk.
CHUNK = 4 << 20
TIMEOUT = (10, 60)  # connect, read (seconds)

# kaniko's constants.AzureBlobStorageHostRegEx: Azure's public, China, Germany and US Government clouds.
_HOST = re.compile(r"(?P<account>[a-z0-9]+)\.blob\.(?P<suffix>core\.windows\.net|core\.chinacloudapi\.cn|"
                   r"core\.cloudapi\.de|core\.usgovcloudapi\.net)", re.IGNORECASE)

ACCESS_KEY_VARIABLES = ("AZURE_STORAGE_ACCESS_KEY",  # kaniko's name
                        "AZURE_STORAGE_KEY")  # the az CLI's


@dataclass(frozen=True)
class AzureBlobArchive(ArchiveSource):
    """A context tarball in a blob container. ``account`` is "" for ``azblob://`` (the account
    then comes from the environment)."""

    container: str
    blob: str
    account: str = ""
    endpoint_suffix: str = "core.windows.net"
    sas: str = field(default="", repr=False)  # a SAS token from the URL's query: a credential

    def describe(self) -> str:
        if not self.account:
            return f"azblob://{self.container}/{self.blob}"
        return (f"https://{self.account}.blob.{self.endpoint_suffix}/{self.container}/{self.blob}"
                + ("?..." if self.sas else ""))

    def open(self, env: Mapping[str, str]) -> Download:
        access = resolve_access(self, env)
        # Imported here: the Azure SDK takes a while to import and most builds never read a blob.
        from azure.core import exceptions as azure_errors
        from azure.core.pipeline.transport import RequestsTransport
        from azure.storage.blob import BlobClient, ExponentialRetry

        # Requests go through lamina's session (its User-Agent, its proxies) without urllib3
        # retries: the SDK's storage policy is the one retry layer. It retries dropped
        # connections, timeouts, 408 and 5xx (not 501/505) 3 times, a few seconds apart, and
        # never a 403 or 404. The SDK's dump of each request and response is for --verbosity=debug.
        transport = RequestsTransport(session=make_session(None), session_owner=True,
                                      connection_timeout=TIMEOUT[0], read_timeout=TIMEOUT[1])
        client = BlobClient(access.endpoint, self.container, self.blob, credential=access.credential,
                            transport=transport, user_agent=user_agent(),
                            retry_policy=ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=3),
                            max_single_get_size=CHUNK, max_chunk_get_size=CHUNK,
                            http_logging_level=logging.DEBUG)
        try:
            downloader = client.download_blob(max_concurrency=1)
        except azure_errors.HttpResponseError as error:
            client.close()
            raise ContextError(self.describe(), self._explain(error, access)) from None
        except azure_errors.AzureError as error:
            client.close()
            raise ContextError(self.describe(), f"cannot reach {access.endpoint}: {_root_cause(error)}"
                               ) from None
        # The downloader's read(size) fetches the next chunk when the last one is used up.
        return Download(cast(BinaryIO, downloader), downloader.size, client.close,
                        errors=(azure_errors.AzureError, OSError))

    def _explain(self, error: Any, access: AzureAccess) -> str:  # an azure HttpResponseError
        code = getattr(error, "error_code", None) or ""
        code = str(getattr(code, "value", code))  # a StorageErrorCode, or the header's text
        status = getattr(error, "status_code", None)
        said = _first_line(getattr(error, "message", "") or str(error))
        if code == "BlobNotFound" or (status == 404 and not code):
            return f"no blob {self.blob!r} in container {self.container!r}"
        if code == "ContainerNotFound":
            return f"container {self.container!r} does not exist in account {access.account!r}"
        if status == 403:
            return (f"the storage account refused the credentials ({access.credential_source}): "
                    f"HTTP 403 {code}: {said}")
        return f"HTTP {status} {code}: {said}" if code else f"HTTP {status}: {said}"


def parse_azure_url(url: str) -> AzureBlobArchive | None:
    """kaniko's Azure form of an https:// context; None when the host is no blob storage host."""
    parts = urlsplit(url)
    host = _HOST.fullmatch(parts.hostname or "")
    if parts.scheme != "https" or host is None:
        return None
    container, _, blob = parts.path.lstrip("/").partition("/")
    if not container or not blob or blob.endswith("/"):
        raise ValueError("expected https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH/TO/CONTEXT.tar.gz")
    return AzureBlobArchive(unquote(container), unquote(blob), account=host["account"].lower(),
                            endpoint_suffix=host["suffix"].lower(), sas=parts.query)


def parse_azblob(rest: str) -> AzureBlobArchive:
    """``CONTAINER/PATH`` (after ``azblob://``)."""
    container, _, blob = rest.partition("/")
    if not container or not blob or blob.endswith("/"):
        raise ValueError("expected azblob://CONTAINER/PATH/TO/CONTEXT.tar.gz")
    return AzureBlobArchive(container, blob)


@dataclass(frozen=True)
class AzureAccess:
    """Where the blob service is and what proves the right to read from it."""

    account: str
    endpoint: str  # https://ACCOUNT.blob.core.windows.net, or a connection string's BlobEndpoint
    credential: dict[str, str] | str = field(repr=False)  # a shared key, or a SAS token
    credential_source: str  # which variable the credential came from, for error messages


def resolve_access(archive: AzureBlobArchive, env: Mapping[str, str]) -> AzureAccess:
    """The account, endpoint and credential for ``archive`` from the URL and the environment;
    a ``ContextError`` saying which variable to set when something is missing or malformed."""
    source = archive.describe()
    settings = _connection_string(source, env.get("AZURE_STORAGE_CONNECTION_STRING", ""))
    account = archive.account or env.get("AZURE_STORAGE_ACCOUNT", "") or settings.get("accountname", "")
    if not account:
        raise ContextError(source, "no storage account: set AZURE_STORAGE_ACCOUNT or "
                           "AZURE_STORAGE_CONNECTION_STRING, or name the context as "
                           "https://ACCOUNT.blob.core.windows.net/CONTAINER/PATH")
    named = settings.get("accountname", "")
    if named and named.lower() != account.lower():
        raise ContextError(source, f"AZURE_STORAGE_CONNECTION_STRING is for account {named!r}, "
                           f"the context is in account {account!r}")
    endpoint = settings.get("blobendpoint", "").rstrip("/")
    if not endpoint:
        scheme = "https" if archive.account else settings.get("defaultendpointsprotocol", "https")
        suffix = archive.endpoint_suffix if archive.account else settings.get("endpointsuffix",
                                                                              archive.endpoint_suffix)
        endpoint = f"{scheme}://{account}.blob.{suffix}"
    credential: dict[str, str] | str
    if archive.sas:
        credential, credential_source = archive.sas, "the SAS in the URL"
    else:
        for variable in ACCESS_KEY_VARIABLES:
            if env.get(variable):
                credential = _shared_key(source, account, env[variable], variable)
                credential_source = variable
                break
        else:
            if settings.get("accountkey"):
                credential_source = "the AccountKey of AZURE_STORAGE_CONNECTION_STRING"
                credential = _shared_key(source, account, settings["accountkey"], credential_source)
            elif settings.get("sharedaccesssignature"):
                credential = settings["sharedaccesssignature"]
                credential_source = "the SharedAccessSignature of AZURE_STORAGE_CONNECTION_STRING"
            else:
                raise ContextError(source, "AZURE_STORAGE_ACCESS_KEY is not set: it must hold the "
                                   f"access key of storage account {account!r} (or set "
                                   "AZURE_STORAGE_CONNECTION_STRING)")
    return AzureAccess(account, endpoint, credential, credential_source)


def _shared_key(source: str, account: str, key: str, where: str) -> dict[str, str]:
    try:
        base64.b64decode(key, validate=True)
    except binascii.Error:
        raise ContextError(source, f"{where} is not a storage account access key (base64)") from None
    return {"account_name": account, "account_key": key}


def _connection_string(source: str, text: str) -> dict[str, str]:
    """``Key=Value;Key=Value`` with keys lower-cased (Azure reads them case-insensitively); a
    value may itself hold ``=`` (keys, SAS tokens)."""
    settings: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ContextError(source, "AZURE_STORAGE_CONNECTION_STRING is not a list of "
                               "KEY=VALUE settings separated by ';'")
        settings[key.strip().lower()] = value.strip()
    return settings


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0].strip()


def _root_cause(error: BaseException) -> str:
    """The innermost reason of a transport error ("[Errno 111] Connection refused"), without the
    urllib3 connection object and URL wrapped around it."""
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        inner = getattr(error, "inner_exception", None) or getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = error.__cause__ or error.__context__
        if not isinstance(inner, BaseException):
            break
        error = inner
    if isinstance(error, OSError) and error.strerror:
        return error.strerror if error.errno is None else f"[Errno {error.errno}] {error.strerror}"
    text = _first_line(str(error)) or type(error).__name__
    return text.rsplit(": ", 1)[-1] if "object at 0x" in text else text

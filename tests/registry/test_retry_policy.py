"""One RetryPolicy: its urllib3 part, how routing adds --push-retry / --image-download-retry, and
that upload restarts and download resumes are counted apart from the session's request retries."""

from __future__ import annotations

import io
import time

import pytest

from executor.options import RegistryOptions
from executor.registry import (
    RegistryClient,
    RegistryDiagnostic,
    RegistryError,
    RegistryUnreachable,
    RetryPolicy,
    StaticCredentials,
)
from executor.registry.errors import AuthenticationError, DigestMismatch, NotFoundError, TLSVerificationFailed
from executor.registry.routing import RegistryClients
from executor.registry.transport import RETRY_METHODS
from tests.registry.images import tiny_image
from tests.registry.servers import Fault, FlakyProxy, serve
from tests.support.registry import RunningRegistry


def _unique(name: str) -> str:
    return f"lamina-registry-tests/{name}-{time.time_ns()}"


def test_default_and_uniform_policies() -> None:
    assert RetryPolicy() == RetryPolicy.uniform(3)
    assert RetryPolicy.uniform(2).plus(3) == RetryPolicy(attempts=5, resumes=5, restarts=5)
    custom = RetryPolicy(attempts=1, resumes=4, restarts=0)
    assert custom.plus(1) == RetryPolicy(attempts=2, resumes=5, restarts=1)


def test_the_urllib3_part() -> None:
    retry = RetryPolicy(attempts=4, statuses=frozenset({503}), backoff=0.25).request_retry()
    urllib3_retry = retry.to_urllib3()
    assert (urllib3_retry.total, urllib3_retry.connect, urllib3_retry.read,
            urllib3_retry.status, urllib3_retry.other) == (4, 4, 4, 4, 0)
    assert set(urllib3_retry.status_forcelist or ()) == {503}
    assert urllib3_retry.allowed_methods == RETRY_METHODS
    assert urllib3_retry.backoff_factor == 0.25
    assert urllib3_retry.raise_on_status is False
    assert urllib3_retry.respect_retry_after_header is True


def test_routing_adds_push_and_pull_retries() -> None:
    options = RegistryOptions(retries=2, push_retry=3, image_download_retry=1)
    clients = RegistryClients(options=options, credentials=StaticCredentials({}))
    assert clients.for_push("registry.example").retry == RetryPolicy.uniform(5)
    assert clients.for_pull("registry.example").retry == RetryPolicy.uniform(3)
    assert RegistryClient("registry.example").retry == RetryPolicy()


def test_temporary_errors_are_the_ones_an_upload_restarts_on() -> None:
    stale = RegistryError(diagnostics=(RegistryDiagnostic("BLOB_UPLOAD_UNKNOWN", "gone"),))
    assert stale.temporary
    assert RegistryError(diagnostics=(RegistryDiagnostic("BLOB_UPLOAD_INVALID", ""),)).temporary
    assert RegistryUnreachable("connection refused").temporary
    assert TLSVerificationFailed("handshake cut").temporary  # a kind of unreachable
    for answer in (RegistryError("500", status=500), AuthenticationError("no", status=401),
                   NotFoundError("no", status=404), DigestMismatch("wrong bytes")):
        assert not answer.temporary


@pytest.mark.parametrize("restarts", [0, 1])
def test_upload_restarts_read_the_policy(registry: RunningRegistry, restarts: int) -> None:
    proxy = FlakyProxy(registry.host, faults=["stale"])
    repository = _unique("restarts")
    image = tiny_image(repository)
    policy = RetryPolicy(attempts=0, resumes=0, restarts=restarts)
    with serve(proxy.handle) as host, RegistryClient(host, retry=policy) as client:
        if restarts:
            client.upload_blob(repository, image.layer.digest, image.layer.size,
                               image.layer.opener)
            assert client.blob_exists(repository, image.layer.digest)
        else:
            with pytest.raises(RegistryError) as caught:
                client.upload_blob(repository, image.layer.digest, image.layer.size,
                                   image.layer.opener)
            assert caught.value.codes == ("BLOB_UPLOAD_UNKNOWN",)
    posts = [s for s in proxy.seen if s.startswith("POST")]
    assert len(posts) == 1 + restarts


@pytest.mark.parametrize("resumes", [0, 1])
def test_download_resumes_read_the_policy(registry: RunningRegistry, resumes: int) -> None:
    repository = _unique("resumes")
    image = tiny_image(repository)
    with RegistryClient(registry.host) as direct:
        direct.upload_blob(repository, image.layer.digest, image.layer.size, image.layer.opener)
    proxy = FlakyProxy(registry.host,
                       plan=[Fault("GET", f"/blobs/{image.layer.digest}", "cut-response", 1)])
    policy = RetryPolicy(attempts=0, resumes=resumes, restarts=0)
    with serve(proxy.handle) as host, RegistryClient(host, retry=policy) as client:
        if resumes:
            with client.open_blob(repository, image.layer.digest, image.layer.size) as stream:
                assert stream.read() == image.layer.data
        else:
            with pytest.raises(RegistryUnreachable, match="connection lost"):
                with client.open_blob(repository, image.layer.digest) as stream:
                    stream.read()
    gets = [s for s in proxy.seen if s.startswith("GET") and "/blobs/" in s]
    assert len(gets) == 1 + resumes


def test_short_reads_are_not_restarted(registry: RunningRegistry) -> None:
    """A blob source that ends early is the caller's fault: not temporary, raised at once."""
    proxy = FlakyProxy(registry.host)
    repository = _unique("short")
    image = tiny_image(repository)
    with serve(proxy.handle) as host, RegistryClient(host, retry=RetryPolicy.uniform(2)) as client:
        with pytest.raises(RegistryError, match="blob source ended"):
            client.upload_blob(repository, image.layer.digest, image.layer.size,
                               lambda: io.BytesIO(image.layer.data[:-1]))
    assert len([s for s in proxy.seen if s.startswith("POST")]) == 1

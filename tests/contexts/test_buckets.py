"""gs:// and s3:// contexts against real servers: gcp-storage-emulator and moto's S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.contexts.helpers import (
    DOCKERFILE,
    assert_one_line_error,
    build_from,
    context_files,
    context_tar,
    manifest_exists,
)
from tests.contexts.servers import BucketServer, serve_s3
from tests.support.registry import RunningRegistry

# Test credentials for moto; HOME elsewhere so no ~/.aws of this machine is read, and no
# instance-metadata lookup is ever needed.
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="module")
def gcs_bucket(gcs_server: BucketServer) -> str:
    client = storage.Client(project="test", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": gcs_server.endpoint})
    bucket = client.create_bucket("lamina-contexts")
    bucket.blob("builds/42/context.tar.gz").upload_from_string(
        context_tar({"marker.txt": "from cloud storage\n", "src/app.py": "print('hi')\n"}))
    return bucket.name


@pytest.fixture(scope="module")
def s3_bucket(s3_server: BucketServer) -> str:
    client = boto3.client("s3", endpoint_url=s3_server.endpoint, aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
    client.create_bucket(Bucket="lamina-contexts")
    client.put_object(Bucket="lamina-contexts", Key="builds/42/context.tar.gz",
                      Body=context_tar({"marker.txt": "from s3\n", "src/app.py": "print('s3')\n"}))
    return "lamina-contexts"


def _gcs_env(server: BucketServer) -> dict[str, str]:
    return {"STORAGE_EMULATOR_HOST": server.endpoint}


def _s3_env(server: BucketServer) -> dict[str, str]:
    return {**AWS_ENV, "S3_ENDPOINT": server.endpoint, "S3_FORCE_PATH_STYLE": "true"}


def test_gcs_context(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                     gcs_server: BucketServer, gcs_bucket: str) -> None:
    run, dest = build_from(tmp_path, registry, busybox_image,
                           f"gs://{gcs_bucket}/builds/42/context.tar.gz", env=_gcs_env(gcs_server))
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path) == {
        "Dockerfile": DOCKERFILE.encode(), "marker.txt": b"from cloud storage\n",
        "src/app.py": b"print('hi')\n"}


def test_s3_context(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                    s3_server: BucketServer, s3_bucket: str) -> None:
    run, dest = build_from(tmp_path, registry, busybox_image,
                           f"s3://{s3_bucket}/builds/42/context.tar.gz", env=_s3_env(s3_server))
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path) == {
        "Dockerfile": DOCKERFILE.encode(), "marker.txt": b"from s3\n", "src/app.py": b"print('s3')\n"}


@pytest.mark.parametrize("context, fragment", [
    ("gs://no-such-bucket/context.tar.gz", "bucket 'no-such-bucket' does not exist"),
    ("gs://lamina-contexts/builds/43/context.tar.gz", "no object 'builds/43/context.tar.gz'"),
    ("s3://no-such-bucket/context.tar.gz", "bucket 'no-such-bucket' does not exist"),
    ("s3://lamina-contexts/builds/43/context.tar.gz", "no object 'builds/43/context.tar.gz'"),
])
def test_missing_bucket_or_object(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                  request: pytest.FixtureRequest, context: str, fragment: str) -> None:
    if context.startswith("gs://"):
        request.getfixturevalue("gcs_bucket")
        env = _gcs_env(request.getfixturevalue("gcs_server"))
    else:
        request.getfixturevalue("s3_bucket")
        env = _s3_env(request.getfixturevalue("s3_server"))
    run, dest = build_from(tmp_path, registry, busybox_image, context, env=env)
    assert_one_line_error(run, context, fragment)
    assert not manifest_exists(registry, dest)


def test_gcs_bad_credentials(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    key_file = tmp_path / "key.json"
    key_file.write_text('{"type": "service_account", "client_email": "x@example.com"}')
    context = "gs://lamina-contexts/builds/42/context.tar.gz"
    # No emulator: the real client path, which must fail on the unusable key file at once.
    run, dest = build_from(tmp_path, registry, busybox_image, context,
                           env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "STORAGE_EMULATOR_HOST": ""})
    assert_one_line_error(run, context, "credentials")
    assert not manifest_exists(registry, dest)


@pytest.fixture
def strict_s3() -> Iterator[BucketServer]:
    with serve_s3(check_credentials=True) as server:
        yield server


def test_s3_bad_credentials(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                            strict_s3: BucketServer) -> None:
    context = "s3://lamina-contexts/builds/42/context.tar.gz"
    run, dest = build_from(tmp_path, registry, busybox_image, context, env=_s3_env(strict_s3))
    assert_one_line_error(run, context, "access key is not valid")
    assert not manifest_exists(registry, dest)

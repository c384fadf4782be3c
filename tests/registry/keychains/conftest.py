"""What the keychain tests share: a clean AWS environment, a docker config, a small push."""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from pathlib import Path

import pytest

from executor.registry import RegistryClient

# No credential, profile or endpoint of this machine may leak into a keychain test.
_AWS_VARIABLES = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                  "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN",
                  "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                  "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_ECR")


@pytest.fixture
def no_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment without AWS credentials (boto3 reads os.environ): no variables,
    no ~/.aws files, no instance metadata. Returns what was set, for child processes."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    aws_home = tmp_path / "aws-home"
    aws_home.mkdir(exist_ok=True)
    fixed = {"HOME": str(aws_home), "AWS_CONFIG_FILE": str(aws_home / "config"),
             "AWS_SHARED_CREDENTIALS_FILE": str(aws_home / "credentials"),
             "AWS_EC2_METADATA_DISABLED": "true"}
    for name, value in fixed.items():
        monkeypatch.setenv(name, value)
    return fixed


def docker_config(directory: Path, document: dict) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(document))
    return directory


def empty_bin(tmp_path: Path) -> str:
    """A $PATH with no docker-credential-* helper on it."""
    directory = tmp_path / "empty-bin"
    directory.mkdir(exist_ok=True)
    return str(directory)


def push_small_blob(client: RegistryClient, repository: str) -> None:
    data = f"keychain {time.time_ns()} {os.getpid()}".encode()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    client.upload_blob(repository, digest, len(data), lambda: io.BytesIO(data))
    assert client.blob_exists(repository, digest)

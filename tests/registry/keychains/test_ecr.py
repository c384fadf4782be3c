"""The ECR keychain against moto's ECR API (GetAuthorizationToken) and a real registry whose
htpasswd holds exactly the user and password moto's token decodes to."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from executor.registry import Credentials, CredentialsError, RegistryClient, StaticCredentials
from executor.registry.keychain import default_keychain
from executor.registry.keychains.ecr import ECRCredentials, ECRRegistry, is_ecr_registry
from tests.contexts.servers import serve_process
from tests.registry.keychains.conftest import docker_config, empty_bin, push_small_blob
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry, free_port, run_registry

ACCESS_KEY, SECRET_KEY, REGION = "AKIALAMINATEST", "lamina-secret-access-key", "us-east-1"


@dataclass(frozen=True)
class ECRRegistryUnderTest:
    registry: RunningRegistry
    endpoint: str  # moto's ECR API, http://127.0.0.1:PORT
    username: str
    password: str


def _token(endpoint: str, **kwargs: object) -> tuple[str, str]:
    client = boto3.client("ecr", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)
    token = client.get_authorization_token(**kwargs)["authorizationData"][0]["authorizationToken"]
    username, _, password = base64.b64decode(token).decode().partition(":")
    return username, password


@pytest.fixture(scope="module")
def ecr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ECRRegistryUnderTest]:
    """moto in server mode, and a TLS registry accepting what moto's token decodes to (asked
    once here with boto3, so the test does not depend on how moto makes its tokens)."""
    port = free_port()
    with serve_process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port):
        endpoint = f"http://127.0.0.1:{port}"
        username, password = _token(endpoint)
        with run_registry(tmp_path_factory.mktemp("ecr-registry"), tls=True, username=username,
                          password=password) as registry:
            yield ECRRegistryUnderTest(registry, endpoint, username, password)


@pytest.fixture
def aws_env(no_aws: dict[str, str], ecr: ECRRegistryUnderTest,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """AWS credentials in the environment only (none on disk), ECR's endpoint pointed at moto."""
    variables = {**no_aws, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                 "AWS_REGION": REGION, "AWS_ENDPOINT_URL_ECR": ecr.endpoint}
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return variables


def test_ecr_hosts() -> None:
    assert ECRRegistry.parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com") == \
        ECRRegistry("123456789012", "eu-west-1")
    assert ECRRegistry.parse("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com:443") == \
        ECRRegistry("123456789012", "us-gov-west-1", fips=True)
    assert ECRRegistry.parse("123456789012.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn")
    assert ECRRegistry.parse("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn")
    assert ECRRegistry.parse("public.ecr.aws") == ECRRegistry(None, "us-east-1", public=True)
    for other in ("12345.dkr.ecr.us-east-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.example.com",
                  "ghcr.io", "127.0.0.1:5000", "evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com"):
        assert not is_ecr_registry(other), other


def test_cred_helpers_ecr_login_works_with_no_helper_on_path(
        tmp_path: Path, aws_env: dict[str, str], ecr: ECRRegistryUnderTest,
        caplog: pytest.LogCaptureFixture) -> None:
    """config.json names ecr-login for the registry, docker-credential-ecr-login is nowhere: the
    built-in keychain gets the token from the AWS chain and the registry accepts it. At debug
    level nothing of the token or the secret key is logged (botocore would log both)."""
    caplog.set_level(logging.DEBUG)
    host = ecr.registry.host
    config = docker_config(tmp_path / "docker", {"credHelpers": {host: "ecr-login"}})
    env = {**aws_env, "DOCKER_CONFIG": str(config), "PATH": empty_bin(tmp_path)}
    keychain = default_keychain(tmp_path / "kaniko", env, tmp_path / "home")
    assert ecr.registry.tls is not None
    with RegistryClient(host, credentials=keychain, ca_bundle=ecr.registry.tls.ca_cert) as client:
        push_small_blob(client, "ecr/helper")
    assert "docker-credential-ecr-login is not installed" in caplog.text
    assert ecr.password not in caplog.text and SECRET_KEY not in caplog.text
    assert base64.b64encode(f"{ecr.username}:{ecr.password}".encode()).decode() not in caplog.text


def test_ecr_hosts_chained_and_by_creds_store(tmp_path: Path, aws_env: dict[str, str],
                                              ecr: ECRRegistryUnderTest) -> None:
    """An ECR host is answered by the chained keychain (the registry id from the host asked
    for) and by credsStore ecr-login; credsStore never hands AWS tokens to other registries."""
    ecr_host = "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    expected = _token(ecr.endpoint, registryIds=["210987654321"])
    found = ECRCredentials().credentials_for(ecr_host)
    assert found is not None and (found.username, found.password) == expected
    config = docker_config(tmp_path / "docker", {"credsStore": "ecr-login"})
    env = {"DOCKER_CONFIG": str(config), "PATH": empty_bin(tmp_path)}
    keychain = default_keychain(tmp_path / "kaniko", env, tmp_path / "home", ())
    store_answer = keychain.credentials_for(ecr_host)
    assert store_answer is not None and (store_answer.username, store_answer.password) == expected
    assert keychain.credentials_for("registry.example.com") is None
    assert ECRCredentials().credentials_for("registry.example.com") is None


def test_no_aws_credentials_is_one_line_naming_registry_and_keychain(
        tmp_path: Path, no_aws: dict[str, str]) -> None:
    source = ECRCredentials()
    with pytest.raises(CredentialsError) as raised:
        source.credentials_for("123456789012.dkr.ecr.us-east-1.amazonaws.com")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("get credentials for 123456789012.dkr.ecr.us-east-1.amazonaws.com: "
                              "ecr keychain: no AWS credentials found"), message
    # ECR Public allows anonymous pulls: without credentials it is not an error
    assert source.credentials_for("public.ecr.aws") is None


def test_executor_pushes_with_credhelpers_ecr_login(tmp_path: Path, aws_env: dict[str, str],
                                                    ecr: ECRRegistryUnderTest) -> None:
    """kaniko's drop-in case: config.json says ecr-login, the image has no such helper."""
    if shutil.which("docker-credential-ecr-login"):
        pytest.skip("a docker-credential-ecr-login on PATH would be run instead")
    registry = ecr.registry
    assert registry.tls is not None
    config = docker_config(tmp_path / "docker", {"credHelpers": {registry.host: "ecr-login"}})
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY hello /hello\n",
                            {"hello": "from ecr\n"})
    run = run_executor(tmp_path, context, "--destination", registry.ref("app/ecr"),
                       "--registry-certificate", f"{registry.host}={registry.tls.ca_cert}",
                       "--verbosity", "debug", env={**aws_env, "DOCKER_CONFIG": str(config)})
    assert run.returncode == 0, run.stderr
    for secret in (ecr.password, SECRET_KEY,
                   base64.b64encode(f"{ecr.username}:{ecr.password}".encode()).decode()):
        assert secret not in run.stderr and secret not in run.stdout
    with RegistryClient(registry.host, ca_bundle=registry.tls.ca_cert, credentials=StaticCredentials(
            {registry.host: Credentials(ecr.username, ecr.password)})) as client:
        assert client.fetch_manifest("app/ecr", "latest")


def test_executor_without_aws_credentials_fails_on_one_line(
        tmp_path: Path, no_aws: dict[str, str], ecr: ECRRegistryUnderTest) -> None:
    registry = ecr.registry
    assert registry.tls is not None
    config = docker_config(tmp_path / "docker", {"credHelpers": {registry.host: "ecr-login"}})
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY hello /hello\n",
                            {"hello": "x\n"})
    run = run_executor(tmp_path, context, "--destination", registry.ref("app/ecr-nocreds"),
                       "--registry-certificate", f"{registry.host}={registry.tls.ca_cert}",
                       env={**no_aws, "DOCKER_CONFIG": str(config), "PATH": os.environ["PATH"]})
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    line = run.error_lines[0]
    assert registry.host in line and "ecr keychain: no AWS credentials found" in line, line
    assert "Traceback" not in run.stderr

"""The chain as kaniko orders it: docker config.json first, then the built-in keychains
--credential-helpers selects (env, google, ecr, acr, gitlab); installed helpers before their
built-in twins; and the env and gitlab keychains against a real registry."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from executor.options import CREDENTIAL_HELPERS
from executor.registry import Credentials, CredentialsError, RegistryClient
from executor.registry.keychain import (
    ChainedCredentials,
    DockerKeychain,
    builtin_keychains,
    default_keychain,
    select_keychains,
)
from executor.registry.keychains.env import variable_names
from executor.registry.keychains.gitlab import GitLabCredentials
from tests.registry.conftest import basic_entry
from tests.registry.keychains.conftest import docker_config, empty_bin, push_small_blob
from tests.registry.test_keychain import write_helper
from tests.support.registry import RunningRegistry


def _chain(tmp_path: Path, env: dict[str, str], helpers: tuple[str, ...] = CREDENTIAL_HELPERS,
           document: dict | None = None) -> ChainedCredentials:
    config = docker_config(tmp_path / "docker", document or {})
    return default_keychain(tmp_path / "kaniko", {"DOCKER_CONFIG": str(config),
                                                  "PATH": empty_bin(tmp_path), **env},
                            tmp_path / "home", helpers)


def _names(chain: ChainedCredentials) -> list[str]:
    return [getattr(source, "name", type(source).__name__) for source in chain.sources]


def test_selection_order_and_stand_ins(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert set(builtin_keychains({})) == set(CREDENTIAL_HELPERS)
    assert _names(_chain(tmp_path, {})) == ["DockerKeychain", "env", "google", "ecr", "acr", "gitlab"]
    assert _names(_chain(tmp_path, {}, ())) == ["DockerKeychain"]  # --credential-helpers=
    assert _names(_chain(tmp_path, {}, ("gitlab", "", "env", "gitlab"))) == \
        ["DockerKeychain", "gitlab", "env"]
    with caplog.at_level(logging.WARNING):
        assert select_keychains(("ecr", "vault")) == ("ecr",)
    assert "unknown credential helper 'vault'" in caplog.text
    docker = _chain(tmp_path, {}, ()).sources[0]
    assert isinstance(docker, DockerKeychain)
    assert {name: keychain.name for name, keychain in docker.stand_ins.items()} == \
        {"ecr-login": "ecr", "acr-env": "acr", "acr": "acr", "gcr": "google"}


def test_docker_config_comes_before_the_built_ins(tmp_path: Path) -> None:
    env = {"KANIKO_REG_EXAMPLE_USER": "from-env", "KANIKO_REG_EXAMPLE_PASSWORD": "pw",
           "CI_REGISTRY": "reg.example", "CI_REGISTRY_USER": "from-ci", "CI_REGISTRY_PASSWORD": "pw"}
    chain = _chain(tmp_path / "a", env, document={"auths": {"reg.example": basic_entry("cfg", "pw")}})
    assert chain.credentials_for("reg.example") == Credentials("cfg", "pw")
    assert _chain(tmp_path / "b", env).credentials_for("reg.example") == Credentials("from-env", "pw")
    assert _chain(tmp_path / "c", env, ("gitlab", "env")).credentials_for("reg.example") == \
        Credentials("from-ci", "pw")


def test_an_installed_helper_is_run_rather_than_its_built_in(tmp_path: Path,
                                                             no_aws: dict[str, str]) -> None:
    """docker-credential-ecr-login on PATH answers; the built-in (which, with no AWS
    credentials, would fail) is not asked."""
    bin_dir = tmp_path / "bin"
    write_helper(bin_dir, "ecr-login", {"reg.example": ("helper", "pw")})
    config = docker_config(tmp_path / "docker", {"credHelpers": {"reg.example": "ecr-login"}})
    chain = default_keychain(tmp_path / "kaniko", {"DOCKER_CONFIG": str(config), "PATH": str(bin_dir)},
                             tmp_path / "home")
    assert chain.credentials_for("reg.example") == Credentials("helper", "pw")
    without = _chain(tmp_path / "no-helper", {}, document={"credHelpers": {"reg.example": "ecr-login"}})
    with pytest.raises(CredentialsError, match="ecr keychain: no AWS credentials found"):
        without.credentials_for("reg.example")  # a failing source stops the chain, as kaniko's


def test_gitlab_ci_job_credentials(tmp_path: Path, auth_registry: RunningRegistry) -> None:
    host = auth_registry.host
    ci = {"CI_REGISTRY": host, "CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": "p"}
    assert auth_registry.tls is not None
    with RegistryClient(host, credentials=_chain(tmp_path, ci, ("gitlab",)),
                        ca_bundle=auth_registry.tls.ca_cert) as client:
        push_small_blob(client, "keychains/gitlab")
    assert GitLabCredentials({**ci, "CI_REGISTRY": "other.example"}).credentials_for(host) is None
    assert GitLabCredentials({**ci, "CI_REGISTRY": f"http://{host}"}).credentials_for(host) is None
    assert GitLabCredentials({**ci, "CI_REGISTRY": f"https://{host}"}).credentials_for(host)
    # as docker-credential-gitlabci compares them: host names, not ports
    assert GitLabCredentials({**ci, "CI_REGISTRY": "127.0.0.1:1"}).credentials_for(host)
    assert GitLabCredentials({"CI_REGISTRY": host}).credentials_for(host) is None


def test_kaniko_host_variables(tmp_path: Path, auth_registry: RunningRegistry) -> None:
    assert variable_names("my-reg.example.com") == [
        ("KANIKO_MY_REG_EXAMPLE_COM_USER", "KANIKO_MY_REG_EXAMPLE_COM_PASSWORD"),
        ("KANIKO_EXAMPLE_COM_USER", "KANIKO_EXAMPLE_COM_PASSWORD"),
        ("KANIKO_COM_USER", "KANIKO_COM_PASSWORD")]
    user, password = variable_names(auth_registry.host)[0]  # KANIKO_127_0_0_1:PORT_USER
    assert auth_registry.tls is not None
    with RegistryClient(auth_registry.host, ca_bundle=auth_registry.tls.ca_cert,
                        credentials=_chain(tmp_path, {user: "u", password: "p"}, ("env",))) as client:
        push_small_blob(client, "keychains/env")
    domain_wide = {"KANIKO_EXAMPLE_COM_USER": "d", "KANIKO_EXAMPLE_COM_PASSWORD": "pw"}
    assert _chain(tmp_path / "d", domain_wide, ("env",)).credentials_for("my-reg.example.com") == \
        Credentials("d", "pw")
    assert _chain(tmp_path / "e", {"KANIKO_EXAMPLE_COM_USER": "d"}, ("env",)).credentials_for(
        "my-reg.example.com") is None  # a user without a password is not credentials

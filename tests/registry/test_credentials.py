"""docker config.json lookup: kaniko's search order and docker's entry formats."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from executor.registry import Credentials, CredentialsError, DockerConfig, config_locations


def _write(path: Path, auths: dict, **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths, **extra}))
    return path


def _auth(user: str, password: str) -> dict:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_search_order_first_existing_wins(tmp_path: Path) -> None:
    kaniko, home, env_dir = tmp_path / "kaniko", tmp_path / "home", tmp_path / "env"
    env = {"DOCKER_CONFIG": str(env_dir)}
    assert config_locations(kaniko, env, home) == [
        env_dir / "config.json", kaniko / ".docker/config.json", home / ".docker/config.json"]
    assert DockerConfig.load(kaniko, env, home).credentials_for("r.example") is None

    _write(home / ".docker/config.json", {"r.example": _auth("home", "x")})
    assert DockerConfig.load(kaniko, env, home).credentials_for("r.example").username == "home"
    _write(kaniko / ".docker/config.json", {"r.example": _auth("kaniko", "x")})
    assert DockerConfig.load(kaniko, env, home).credentials_for("r.example").username == "kaniko"
    _write(env_dir / "config.json", {"other.example": _auth("env", "x")})
    loaded = DockerConfig.load(kaniko, env, home)
    assert loaded.path == env_dir / "config.json"
    # the first file found is the only one read, as kaniko does
    assert loaded.credentials_for("r.example") is None
    assert loaded.credentials_for("other.example") == Credentials("env", "x")


def test_docker_config_may_name_the_file_itself(tmp_path: Path) -> None:
    path = _write(tmp_path / "custom.json", {"r.example": _auth("u", "p")})
    config = DockerConfig.load(tmp_path / "kaniko", {"DOCKER_CONFIG": str(path)}, tmp_path)
    assert config.credentials_for("r.example") == Credentials("u", "p")


@pytest.mark.parametrize("key", ["r.example:5000", "https://r.example:5000",
                                 "https://r.example:5000/v1/", "http://r.example:5000/v2/"])
def test_key_spellings(tmp_path: Path, key: str) -> None:
    config = DockerConfig.from_file(_write(tmp_path / "c.json", {key: _auth("u", "p:with:colons")}))
    assert config.credentials_for("r.example:5000") == Credentials("u", "p:with:colons")
    assert config.credentials_for("r.example") is None


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "index.docker.io"])
def test_docker_hub(tmp_path: Path, key: str) -> None:
    config = DockerConfig.from_file(_write(tmp_path / "c.json", {key: _auth("hub", "p")}))
    assert config.credentials_for("index.docker.io") == Credentials("hub", "p")


def test_username_password_and_identity_token(tmp_path: Path) -> None:
    config = DockerConfig.from_file(_write(tmp_path / "c.json", {
        "a.example": {"username": "ua", "password": "pa"},
        "b.example": {"auth": base64.b64encode(b"<token>:").decode(), "identitytoken": "refresh"},
        "c.example": {},
    }, credHelpers={"gcr.io": "gcloud"}, credsStore="desktop"))
    assert config.credentials_for("a.example") == Credentials("ua", "pa")
    token = config.credentials_for("b.example")
    assert token is not None and token.identity_token == "refresh"
    assert (token.username, token.password) == ("<token>", "refresh")
    assert config.credentials_for("c.example") is None
    assert config.helper_for("gcr.io") == "gcloud" and config.helper_for("x.io") == "desktop"


def test_secrets_never_in_repr_or_errors(tmp_path: Path) -> None:
    assert "s3cret" not in repr(Credentials("u", "s3cret", identity_token="s3cret"))
    path = _write(tmp_path / "c.json", {"r.example": {"auth": "bm90LWEtcGFpcg=="}})  # "not-a-pair"
    with pytest.raises(CredentialsError) as caught:
        DockerConfig.from_file(path).credentials_for("r.example")
    assert "r.example" in str(caught.value) and "bm90" not in str(caught.value)
    assert "not-a-pair" not in str(caught.value)


def test_unreadable_config_is_a_typed_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(CredentialsError, match="cannot read docker config"):
        DockerConfig.load(tmp_path / "k", {"DOCKER_CONFIG": str(tmp_path)}, tmp_path)

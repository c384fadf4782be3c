"""Docker credential helpers: ``docker-credential-<name> get`` run the way the docker CLI runs it.

The helper reads the server URL on stdin and prints ``{"ServerURL", "Username", "Secret"}``;
``Username == "<token>"`` means ``Secret`` is an identity (refresh) token. A helper that does not
know the server says so on stdout ("credentials not found in native keychain") and exits non-zero:
that is "no credentials", not an error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field

from .credentials import IDENTITY_TOKEN_USERNAME, Credentials
from .errors import CredentialsError
from .reference import DOCKER_HUB

HELPER_TIMEOUT = 60.0  # seconds; a helper may talk to a cloud metadata server
_NOT_FOUND = "credentials not found"
# The docker CLI asks helpers about Docker Hub by its v1 index URL.
_DOCKER_HUB_SERVER_URL = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class CredentialHelper:
    """One ``docker-credential-<name>`` executable, looked up on ``path`` (``$PATH``)."""

    name: str
    path: str | None = None
    env: Mapping[str, str] | None = field(default=None, repr=False)

    @property
    def executable(self) -> str:
        return f"docker-credential-{self.name}"

    @property
    def installed(self) -> bool:
        return shutil.which(self.executable, path=self.path) is not None

    def get(self, registry: str) -> Credentials | None:
        program = shutil.which(self.executable, path=self.path)
        if program is None:
            raise CredentialsError(f"credential helper {self.executable} not found on PATH",
                                   action=f"get credentials for {registry}",
                                   hint="install it or remove it from credsStore/credHelpers")
        server = _DOCKER_HUB_SERVER_URL if registry == DOCKER_HUB else registry
        try:
            # Never log or echo stdout/stderr: on success stdout holds the secret.
            done = subprocess.run([program, "get"], input=server.encode(), capture_output=True,
                                  timeout=HELPER_TIMEOUT, env=None if self.env is None
                                  else dict(self.env))
        except (OSError, subprocess.TimeoutExpired) as e:
            raise CredentialsError(f"credential helper {self.executable} failed: {e}",
                                   action=f"get credentials for {registry}") from e
        if done.returncode != 0:
            if _NOT_FOUND in done.stdout.decode(errors="replace").lower():
                return None
            raise CredentialsError(
                f"credential helper {self.executable} exited with {done.returncode}",
                action=f"get credentials for {registry}")
        try:
            document = json.loads(done.stdout)
            username, secret = str(document.get("Username") or ""), str(document["Secret"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise CredentialsError(f"credential helper {self.executable} printed something "
                                   "that is not {\"Username\", \"Secret\"} JSON",
                                   action=f"get credentials for {registry}") from None
        if not secret:
            return None
        if username == IDENTITY_TOKEN_USERNAME:
            return Credentials(username=username, password=secret, identity_token=secret)
        return Credentials(username=username, password=secret)


__all__ = ["CredentialHelper"]

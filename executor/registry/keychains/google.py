"""Google Container Registry / Artifact Registry credentials from application default credentials.

As go-containerregistry's google keychain (hence kaniko) does: for ``gcr.io``, ``*.gcr.io`` and
``*.pkg.dev`` hosts, ADC (``$GOOGLE_APPLICATION_CREDENTIALS``, gcloud's well-known file, or the
metadata server) yields an OAuth2 access token, sent as the password of ``oauth2accesstoken``.
It also stands in for ``docker-credential-gcr`` when a docker config names that helper.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..credentials import Credentials
from .base import BuiltinKeychain, KeychainFailure, hostname

GOOGLE_USERNAME = "oauth2accesstoken"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


def is_google_registry(registry: str) -> bool:
    host = hostname(registry)
    return host == "gcr.io" or host.endswith(".gcr.io") or host.endswith(".pkg.dev")


@dataclass
class GoogleCredentials(BuiltinKeychain):
    """Answers for Google registries only (``applies_to``); other hosts get None without
    google-auth ever being imported or ADC looked up."""

    name: ClassVar[str] = "google"
    helper_names: ClassVar[frozenset[str]] = frozenset({"gcr"})

    applies_to: Callable[[str], bool] = is_google_registry
    _adc: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serves(self, registry: str) -> bool:
        return self.applies_to(registry)

    def lookup(self, registry: str) -> Credentials | None:
        try:
            import google.auth
            import google.auth.exceptions
            import google.auth.transport.requests
        except ImportError as e:  # a core dependency; only a broken install lacks it
            raise KeychainFailure(f"google-auth is not installed: {e}") from e
        with self._lock:
            try:
                if self._adc is None:
                    self._adc, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
                if not self._adc.valid:  # google-auth refreshes ahead of expiry itself
                    self._adc.refresh(google.auth.transport.requests.Request())
            except google.auth.exceptions.DefaultCredentialsError:
                return None  # no ADC configured: anonymous, as kaniko falls through
            except google.auth.exceptions.GoogleAuthError as e:
                # the message names the token endpoint, never the refresh token
                raise KeychainFailure(f"Google application default credentials: {e}") from e
            token = self._adc.token
        return Credentials(username=GOOGLE_USERNAME, password=token) if token else None


__all__ = ["GOOGLE_USERNAME", "GoogleCredentials", "is_google_registry"]

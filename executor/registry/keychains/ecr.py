"""Amazon ECR credentials from the AWS credential chain, as amazon-ecr-credential-helper (built
into kaniko) gets them: boto3's default session (environment, shared config and profile, web
identity / IRSA, container and instance roles) calls ECR's ``GetAuthorizationToken``, whose token
is base64 of ``AWS:<password>``.

It answers for ``<account>.dkr.ecr[-fips].<region>.amazonaws.com`` (and the other partitions'
domains) and for ECR Public (``public.ecr.aws``, anonymous when there are no AWS credentials).
It stands in for ``docker-credential-ecr-login`` when a docker config names that helper: for an
ECR host, or for any host named explicitly in ``credHelpers`` (then the default registry of the
caller's account in the configured region is asked for).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..credentials import Credentials
from .base import BuiltinKeychain, KeychainFailure, hostname

__all__ = ["ECRCredentials", "ECRRegistry", "is_ecr_registry"]

_log = logging.getLogger(__name__)

# amazon-ecr-credential-helper's pattern (ecr-login/api/client.go): account, -fips, region, domain
_ECR_HOST = re.compile(
    r"^(\d{12})\.dkr[.-]ecr(-fips)?\.([a-zA-Z0-9][a-zA-Z0-9-_]*)\."
    r"(amazonaws\.(?:com(?:\.cn)?|eu)|on\.(?:aws|amazonwebservices\.com\.cn)|sc2s\.sgov\.gov"
    r"|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov)$")
_ECR_PUBLIC_HOSTS = frozenset({"public.ecr.aws", "ecr-public.aws.com"})
_ECR_PUBLIC_REGION = "us-east-1"  # the only region serving the ECR Public API
# Ask again this long before ECR said a token expires (12 h tokens; clock skew, long pushes).
_TOKEN_MARGIN = 300.0
_NO_CREDENTIALS_HINT = ("give the executor AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                        "AWS_PROFILE, a web identity token or an instance role) or put credentials "
                        "for this registry in config.json")


@dataclass(frozen=True)
class ECRRegistry:
    """What an ECR host says: the account (registry id), the region, FIPS, or ECR Public."""

    registry_id: str | None
    region: str | None
    fips: bool = False
    public: bool = False

    @classmethod
    def parse(cls, registry: str) -> ECRRegistry | None:
        host = hostname(registry)
        if host in _ECR_PUBLIC_HOSTS:
            return cls(None, _ECR_PUBLIC_REGION, public=True)
        match = _ECR_HOST.match(host)
        if match is None:
            return None
        return cls(match.group(1), match.group(3), fips=bool(match.group(2)))


def is_ecr_registry(registry: str) -> bool:
    return ECRRegistry.parse(registry) is not None


@dataclass
class ECRCredentials(BuiltinKeychain):
    """ECR's authorization tokens, kept until shortly before they expire. ``session_factory``
    makes the boto3 session (default: ``boto3.session.Session``, the default credential chain,
    which reads the process environment); ``env`` gives ``AWS_REGION``, which the Go SDK of
    ecr-login honours and botocore does not, for hosts whose name says no region."""

    name: ClassVar[str] = "ecr"
    helper_names: ClassVar[frozenset[str]] = frozenset({"ecr-login"})

    env: Mapping[str, str] = field(default_factory=dict, repr=False)  # for AWS_REGION
    applies_to: Callable[[str], bool] = is_ecr_registry
    session_factory: Callable[[], Any] | None = None
    clock: Callable[[], float] = time.time
    _session: Any = field(default=None, repr=False)
    _tokens: dict[ECRRegistry, tuple[Credentials, float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serves(self, registry: str) -> bool:
        return self.applies_to(registry)

    def lookup(self, registry: str) -> Credentials | None:
        # A host named in credHelpers that is not an ECR host: the account's default registry.
        target = ECRRegistry.parse(registry) or ECRRegistry(None, None)
        with self._lock, _botocore_quiet():
            held = self._tokens.get(target)
            if held is not None and self.clock() < held[1]:
                return held[0]
            found = self._public_token(registry) if target.public else self._token(target)
            if found is None:
                return None
            credentials, expires_at = found
            self._tokens[target] = (credentials, expires_at - _TOKEN_MARGIN)
            return credentials

    def _boto_session(self) -> Any:
        if self._session is None:
            import boto3  # imported here: boto3 is slow to import and most builds never need it
            self._session = (self.session_factory or boto3.session.Session)()
        return self._session

    def _client(self, service: str, region: str | None, fips: bool) -> Any:
        from botocore.config import Config

        # botocore's "standard" retries: throttling, 5xx and dropped connections, with backoff.
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10,
                        read_timeout=30, use_fips_endpoint=fips or None)
        return self._boto_session().client(service, region_name=region, config=config)

    def _token(self, target: ECRRegistry) -> tuple[Credentials, float]:
        import botocore.exceptions as boto_errors

        try:
            session = self._boto_session()
            if session.get_credentials() is None:
                raise KeychainFailure("no AWS credentials found", hint=_NO_CREDENTIALS_HINT)
            region = target.region or self.env.get("AWS_REGION") or session.region_name
            client = self._client("ecr", region, target.fips)
            _log.debug("ECR authorization token for %s from %s (%s credentials)",
                       target.registry_id or "the account's default registry", client.meta.endpoint_url,
                       getattr(session.get_credentials(), "method", "unknown"))
            kwargs = {"registryIds": [target.registry_id]} if target.registry_id else {}
            data = client.get_authorization_token(**kwargs).get("authorizationData") or []
        except boto_errors.NoCredentialsError:
            raise KeychainFailure("no AWS credentials found", hint=_NO_CREDENTIALS_HINT) from None
        except boto_errors.NoRegionError:
            raise KeychainFailure("no AWS region configured to ask ECR in",
                                  hint="set AWS_REGION (or the profile's region)") from None
        except boto_errors.ClientError as error:
            details = error.response.get("Error", {})
            raise KeychainFailure(f"ECR GetAuthorizationToken refused: {details.get('Code')}: "
                                  f"{details.get('Message') or error}") from None
        except boto_errors.BotoCoreError as error:  # an unreachable endpoint, a broken profile...
            raise KeychainFailure(str(error)) from None
        if not data or not data[0].get("authorizationToken"):
            raise KeychainFailure("ECR GetAuthorizationToken answered without a token")
        return _decode(data[0]["authorizationToken"]), _epoch(data[0].get("expiresAt"), self.clock())

    def _public_token(self, registry: str) -> tuple[Credentials, float] | None:
        """ECR Public allows anonymous pulls: with no AWS credentials, or a refusal, go on
        without (as kaniko does), saying why at debug level."""
        import botocore.exceptions as boto_errors

        try:
            if self._boto_session().get_credentials() is None:
                return None
            token = self._client("ecr-public", _ECR_PUBLIC_REGION, False).get_authorization_token()
            data = token.get("authorizationData") or {}
        except (boto_errors.BotoCoreError, boto_errors.ClientError) as error:
            _log.debug("no ECR Public token for %s, pulling anonymously: %s", registry, error)
            return None
        encoded = data.get("authorizationToken")
        return (_decode(encoded), _epoch(data.get("expiresAt"), self.clock())) if encoded else None


def _decode(token: str) -> Credentials:
    try:
        username, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sep = ""
    if not sep:  # never echo the token: it is the secret
        raise KeychainFailure("ECR's authorization token is not base64 of 'user:password'")
    return Credentials(username=username, password=password)


def _epoch(expires_at: Any, now: float) -> float:
    """ECR's ``expiresAt`` (a datetime) as seconds since the epoch; now if it is missing."""
    timestamp = getattr(expires_at, "timestamp", None)
    return float(timestamp()) if callable(timestamp) else now


@contextlib.contextmanager
def _botocore_quiet() -> Iterator[None]:
    """botocore logs request headers (an STS session token) and response bodies (the ECR token)
    at DEBUG, and "Found credentials in ..." at INFO: keep them out of the build log while the
    keychain asks (callers hold the keychain's lock, so saves and restores pair up)."""
    logger = logging.getLogger("botocore")
    previous = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)

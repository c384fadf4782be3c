"""A Distribution API v2 registry client: references, credentials, auth, manifests and blobs."""

from __future__ import annotations

from .auth import (
    AuthFlow,
    Challenge,
    Scope,
    TokenRequest,
    authorization_from_token_response,
    basic_authorization,
    parse_challenges,
    pick_challenge,
    repository_scope,
    token_request,
)
from .client import RegistryClient
from .credentials import Credentials, CredentialSource, DockerConfig, StaticCredentials, config_locations
from .errors import (
    AuthenticationError,
    BlobNotFound,
    CredentialsError,
    DigestMismatch,
    InvalidReference,
    ManifestNotFound,
    NotFoundError,
    PlatformNotFound,
    RegistryDiagnostic,
    RegistryError,
    RegistryUnreachable,
    TLSVerificationFailed,
    UnsupportedManifest,
)
from .manifest import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_SCHEMA2,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    ManifestIndex,
    Platform,
    parse_manifest,
    sha256_digest,
)
from .reference import DOCKER_HUB, ImageReference, parse_reference
from .transport import RetryPolicy, is_loopback

__all__ = [
    "AuthFlow", "AuthenticationError", "BlobNotFound", "Challenge", "CredentialSource",
    "Credentials", "CredentialsError", "DOCKER_HUB", "DOCKER_MANIFEST_LIST",
    "DOCKER_MANIFEST_SCHEMA2", "Descriptor", "DigestMismatch", "DockerConfig",
    "ImageReference", "InvalidReference", "MANIFEST_ACCEPT", "Manifest", "ManifestIndex",
    "ManifestNotFound", "NotFoundError", "OCI_INDEX", "OCI_MANIFEST", "Platform",
    "PlatformNotFound", "RegistryClient", "RegistryDiagnostic", "RegistryError",
    "RegistryUnreachable", "RetryPolicy", "Scope", "StaticCredentials",
    "TLSVerificationFailed", "TokenRequest", "UnsupportedManifest",
    "authorization_from_token_response", "basic_authorization", "config_locations",
    "is_loopback", "parse_challenges", "parse_manifest", "parse_reference", "pick_challenge",
    "repository_scope", "sha256_digest", "token_request",
]

"""kaniko's built-in keychains, with no helper binary: ``--credential-helpers`` names them.

``env`` (``KANIKO_<HOST>_USER``/``_PASSWORD``), ``google`` (application default credentials),
``ecr`` (the AWS credential chain and ECR's GetAuthorizationToken), ``acr`` (Entra ID token
exchange) and ``gitlab`` (GitLab CI's job credentials). :mod:`executor.registry.keychain` chains
them after docker's config.json.
"""

from __future__ import annotations

from .acr import ACRCredentials
from .base import BuiltinKeychain, KeychainFailure
from .ecr import ECRCredentials
from .env import EnvCredentials
from .gitlab import GitLabCredentials
from .google import GoogleCredentials

__all__ = ["ACRCredentials", "BuiltinKeychain", "ECRCredentials", "EnvCredentials",
           "GitLabCredentials", "GoogleCredentials", "KeychainFailure"]

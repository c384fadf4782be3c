"""``gs://bucket/path.tar.gz`` contexts, read with google-cloud-storage and application default
credentials (``GOOGLE_APPLICATION_CREDENTIALS``, workload identity); ``STORAGE_EMULATOR_HOST``
points it at an emulator, as the Google libraries do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .base import ArchiveSource, Download
from .errors import ContextError

__all__ = ["GcsArchive"]

# The reader fetches the object in ranged requests of this size: memory stays at one chunk.
CHUNK = 8 << 20
SCOPES = ("https://www.googleapis.com/auth/devstorage.read_only",)


@dataclass(frozen=True)
class GcsArchive(ArchiveSource):
    bucket: str
    name: str

    def describe(self) -> str:
        return f"gs://{self.bucket}/{self.name}"

    def open(self, env: Mapping[str, str]) -> Download:
        # Imported here: the Google client libraries take a while to import and most builds
        # never read a bucket.
        import requests
        from google.api_core import exceptions as api_errors
        from google.auth import exceptions as auth_errors

        try:
            client = self._client(env)
            bucket = client.bucket(self.bucket)
            blob = bucket.get_blob(self.name)  # None when the bucket or the object is missing
            if blob is None:
                raise ContextError(self.describe(), self._why_missing(bucket))
            reader = blob.open("rb", chunk_size=CHUNK)
        except auth_errors.DefaultCredentialsError as error:
            raise ContextError(self.describe(), "no usable Google credentials "
                               f"(GOOGLE_APPLICATION_CREDENTIALS, workload identity): {_first_line(error)}"
                               ) from None
        except auth_errors.GoogleAuthError as error:
            raise ContextError(self.describe(), f"authentication failed: {_first_line(error)}") from None
        except api_errors.GoogleAPICallError as error:
            raise ContextError(self.describe(), f"HTTP {error.code}: {error.message}") from None
        except requests.RequestException as error:
            raise ContextError(self.describe(), f"cannot reach Cloud Storage: {_first_line(error)}") from None
        return Download(reader, blob.size, reader.close,
                        errors=(api_errors.GoogleAPICallError, auth_errors.GoogleAuthError,
                                requests.RequestException))

    @staticmethod
    def _client(env: Mapping[str, str]) -> Any:  # google.cloud.storage.Client, imported late
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        emulator = env.get("STORAGE_EMULATOR_HOST")
        if emulator:
            endpoint = emulator if "://" in emulator else f"http://{emulator}"
            return storage.Client(project=None, credentials=AnonymousCredentials(),
                                  client_options={"api_endpoint": endpoint})
        # project=None: reading an object needs no project, so none has to be configured.
        key_file = env.get("GOOGLE_APPLICATION_CREDENTIALS")
        if key_file:
            # The file named in the environment we were given, without falling back to probing
            # the metadata server when it is unusable.
            import google.auth

            credentials, _ = google.auth.load_credentials_from_file(key_file, scopes=SCOPES)
            return storage.Client(project=None, credentials=credentials)
        return storage.Client(project=None)  # workload identity, gcloud's ADC file, metadata

    def _why_missing(self, bucket: Any) -> str:  # a google.cloud.storage.Bucket
        from google.api_core import exceptions as api_errors

        try:
            exists = bucket.exists()
        except api_errors.GoogleAPICallError:
            return "no such object (or no such bucket)"  # may read objects but not the bucket
        if not exists:
            return f"bucket {self.bucket!r} does not exist"
        return f"no object {self.name!r} in bucket {self.bucket!r}"


def _first_line(error: BaseException) -> str:
    # google-auth raises with (message, cause) tuples: the message alone reads as a sentence.
    text = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
    return (text.strip().splitlines() or [type(error).__name__])[0]

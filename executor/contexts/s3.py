"""``s3://bucket/key`` contexts, read with boto3 and the AWS default credential chain;
``S3_ENDPOINT`` and ``S3_FORCE_PATH_STYLE`` (kaniko's names) for MinIO and other S3 servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .base import ArchiveSource, Download
from .errors import ContextError

__all__ = ["S3Archive"]

# S3's error codes, said the way a user can act on them.
_CLIENT_ERRORS = {
    "NoSuchBucket": "bucket {bucket!r} does not exist",
    "NoSuchKey": "no object {key!r} in bucket {bucket!r}",
    "404": "no object {key!r} in bucket {bucket!r}",
    "InvalidAccessKeyId": "the access key is not valid (AWS_ACCESS_KEY_ID / the credential chain)",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "AccessDenied": "access denied",
    "403": "access denied",
}


@dataclass(frozen=True)
class S3Archive(ArchiveSource):
    bucket: str
    key: str

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def open(self, env: Mapping[str, str]) -> Download:
        import boto3  # imported here: boto3 is slow to import and most builds never need it
        import botocore.exceptions as boto_errors
        from botocore.config import Config

        force_path_style = env.get("S3_FORCE_PATH_STYLE", "").lower() == "true"
        # Retries configured once on the client: botocore's "standard" mode retries throttling,
        # 5xx answers and dropped connections with backoff, and never a 403 or 404.
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10,
                        read_timeout=60, s3={"addressing_style": "path" if force_path_style else "auto"})
        try:
            # The credential chain (environment, shared files, web identity, instance role)
            # and the region come from boto3's own configuration, as with the aws CLI.
            client = boto3.session.Session().client("s3", endpoint_url=env.get("S3_ENDPOINT") or None,
                                                    config=config)
            response = client.get_object(Bucket=self.bucket, Key=self.key)
        except boto_errors.ClientError as error:
            details = error.response.get("Error", {})
            code = str(details.get("Code", ""))
            reason = _CLIENT_ERRORS.get(code)
            message = (reason.format(bucket=self.bucket, key=self.key) if reason
                       else f"{code}: {details.get('Message') or error}")
            raise ContextError(self.describe(), message) from None
        except boto_errors.NoCredentialsError:
            raise ContextError(self.describe(), "no AWS credentials found (AWS_ACCESS_KEY_ID, "
                               "AWS_PROFILE, web identity or an instance role)") from None
        except boto_errors.BotoCoreError as error:
            raise ContextError(self.describe(), str(error)) from None
        body = response["Body"]
        return Download(body, response.get("ContentLength"), body.close,
                        errors=(boto_errors.BotoCoreError, boto_errors.ClientError, OSError))

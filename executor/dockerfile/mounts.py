"""RUN --mount specs (BuildKit's ``instructions/commands_runmount.go``): csv fields checked when the
Dockerfile is parsed, ``$VAR`` expanded at build time into a ``MountRequest``.

A value holding a ``$`` needs the build-time environment, so the parser checks only what it can:
the keys, and every value without a ``$`` (quotes and escapes removed as the build would). Preparing
what a mount mounts is ``executor.commands.mounts``'s job.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

__all__ = ["MOUNT_TYPES", "SHARING_MODES", "MountError", "MountRequest", "MountSpec", "parse_mount"]

MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")

_KEY_ALIASES = {"dst": "target", "destination": "target", "src": "source", "ro": "readonly",
                "rw": "readwrite"}
_KEYS = frozenset({"type", "target", "source", "from", "readonly", "readwrite", "id", "sharing",
                   "mode", "uid", "gid", "required", "env", "size"})
_BOOLEAN_KEYS = frozenset({"readonly", "readwrite", "required"})
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3,
               "gb": 1024**3}


class MountError(ValueError):
    """A bad or unsatisfiable --mount spec; reported with the RUN instruction's line."""


@dataclass(frozen=True)
class MountRequest:
    """One ``--mount=...`` after parsing and ``$VAR`` expansion, BuildKit's defaults not yet applied."""

    type: str
    target: str | None = None
    source: str | None = None
    from_: str | None = None
    readonly: bool | None = None
    id: str | None = None
    sharing: str = "shared"
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    required: bool | None = None
    env: str | None = None
    size: int | None = None


def _boolean(key: str, value: str | None) -> bool:
    if value is None:
        return True
    lowered = value.lower()
    if lowered in ("true", "1", "t"):
        return True
    if lowered in ("false", "0", "f"):
        return False
    raise MountError(f"invalid value for {key}: {value!r} (expected true or false)")


def _integer(key: str, value: str, base: int = 10) -> int:
    try:
        number = int(value, base)
    except ValueError:
        raise MountError(f"invalid value for {key}: {value!r}") from None
    if number < 0:
        raise MountError(f"invalid value for {key}: {value!r}")
    return number


def _size(value: str) -> int:
    number = value.rstrip("bBkKmMgG")
    unit = value[len(number):].lower()
    if unit not in _SIZE_UNITS or not number:
        raise MountError(f"invalid value for size: {value!r}")
    return int(_integer("size", number) * _SIZE_UNITS[unit])


def _kind(value: str | None) -> str:
    kind = (value or "bind").lower()
    if kind not in MOUNT_TYPES:
        raise MountError(f"unsupported mount type {kind!r} (use one of {', '.join(MOUNT_TYPES)})")
    return kind


def _sharing(value: str | None) -> str:
    sharing = (value or "shared").lower()
    if sharing not in SHARING_MODES:
        raise MountError(f"unsupported sharing value {sharing!r} (use shared, private or locked)")
    return sharing


# How each typed value is read; a key not listed is a plain string.
_CONVERTERS: dict[str, Callable[[str | None], object]] = {
    "type": _kind,
    "sharing": _sharing,
    "mode": lambda value: _integer("mode", value or "", 8),
    "uid": lambda value: _integer("uid", value or ""),
    "gid": lambda value: _integer("gid", value or ""),
    "size": lambda value: _size(value or ""),
    **{key: partial(_boolean, key) for key in _BOOLEAN_KEYS},
}


@dataclass(frozen=True)
class MountSpec:
    """One ``--mount`` as written: its csv fields with key aliases resolved (``dst`` -> ``target``),
    values still unexpanded; ``None`` is a bare boolean key (``readonly``)."""

    spec: str
    fields: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, spec: str) -> MountSpec:
        """Split BuildKit's csv form and check its keys; raises ``MountError``."""
        try:
            items = next(csv.reader([spec]), [])
        except csv.Error as error:
            raise MountError(f"invalid --mount {spec!r}: {error}") from None
        fields: list[tuple[str, str | None]] = []
        for item in items:
            key, eq, value = item.partition("=")
            key = _KEY_ALIASES.get(key.strip().lower(), key.strip().lower())
            if key not in _KEYS:
                raise MountError(f"unexpected key {key!r} in {item!r} of --mount={spec}")
            if not eq and key not in _BOOLEAN_KEYS:
                raise MountError(f"--mount {key} needs a value ({key}=...) in --mount={spec}")
            fields.append((key, value if eq else None))
        return cls(spec=spec, fields=tuple(fields))

    @property
    def from_(self) -> str | None:
        """The ``from=`` value as written (a stage or an image), or None."""
        values = dict(self.fields)
        return values.get("from") or None

    def check(self, literal: Callable[[str], str]) -> None:
        """Validate what is known before the build: with no ``$`` in any value the whole mount,
        else each value without one. ``literal`` removes quotes and escapes from a value."""
        values: dict[str, str | None] = {}
        deferred: set[str] = set()
        for key, value in self.fields:
            if value is not None and "$" in value:
                deferred.add(key)
                values.pop(key, None)
            else:
                deferred.discard(key)
                values[key] = None if value is None else literal(value)
        if not deferred:
            _request(values, self.spec)
            return
        for key, value in values.items():
            converter = _CONVERTERS.get(key)
            if converter is not None:
                converter(value)

    def request(self, expand: Callable[[str], str]) -> MountRequest:
        """The mount with ``expand`` (``$VAR`` substitution) applied to each value, checked again."""
        values: dict[str, str | None] = {}
        for key, value in self.fields:
            values[key] = None if value is None else expand(value)
        return _request(values, self.spec)


def parse_mount(spec: str, expand: Callable[[str], str]) -> MountRequest:
    """``type=cache,target=/root/.cache,id=pip`` -> ``MountRequest`` (BuildKit's csv fields);
    ``expand`` substitutes ``$VAR`` in each value."""
    return MountSpec.parse(spec).request(expand)


def _request(values: dict[str, str | None], spec: str) -> MountRequest:
    kind = _kind(values.pop("type", None))
    readonly = _boolean("readonly", values["readonly"]) if "readonly" in values else None
    if "readwrite" in values:
        readonly = not _boolean("readwrite", values["readwrite"])
    request = MountRequest(
        type=kind, target=values.get("target") or None, source=values.get("source") or None,
        from_=values.get("from") or None, readonly=readonly, id=values.get("id") or None,
        sharing=_sharing(values.get("sharing")),
        mode=_integer("mode", values["mode"] or "", 8) if "mode" in values else None,
        uid=_integer("uid", values["uid"] or "") if "uid" in values else 0,
        gid=_integer("gid", values["gid"] or "") if "gid" in values else 0,
        required=_boolean("required", values["required"]) if "required" in values else None,
        env=values.get("env") or None,
        size=_size(values["size"] or "") if "size" in values else None)
    _check(request, spec)
    return request


def _check(request: MountRequest, spec: str) -> None:
    if request.type == "secret":
        if request.id is None and request.target is None and request.env is None:
            raise MountError(f"secret mount needs an id (or a target): --mount={spec}")
        if request.id is None and request.target is None:
            raise MountError(f"secret mount with env= needs an id: --mount={spec}")
        return
    if request.target is None and request.type != "ssh":  # ssh: /run/buildkit/ssh_agent.N
        raise MountError(f"mount type={request.type} needs a target: --mount={spec}")
    if request.type != "cache" and request.sharing != "shared" and "sharing" in spec:
        raise MountError(f"sharing is only valid for cache mounts: --mount={spec}")
    if request.env is not None:
        raise MountError(f"env is only valid for secret mounts: --mount={spec}")
    if request.type == "tmpfs" and (request.source or request.from_):
        raise MountError(f"tmpfs mounts take no source or from: --mount={spec}")

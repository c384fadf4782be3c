"""A platform as image indexes and configs name it: ``os/architecture[/variant]``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Platform"]


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Platform:
        """``linux/arm64/v8`` -> Platform("linux", "arm64", "v8")."""
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"platform {text!r} is not os/arch[/variant]")
        return cls(*parts)

    @classmethod
    def of(cls, value: Platform | Sequence[str]) -> Platform:
        return value if isinstance(value, Platform) else cls(*value)

    @classmethod
    def of_config(cls, config: Mapping[str, Any]) -> Platform:
        """The platform an image config says it is for (``os``, ``architecture``, ``variant``)."""
        return cls(str(config.get("os") or ""), str(config.get("architecture") or ""),
                   str(config["variant"]) if config.get("variant") else None)

    def matches(self, candidate: Platform) -> bool:
        """Whether an index entry's ``candidate`` satisfies this wanted platform."""
        return (self.os == candidate.os and self.architecture == candidate.architecture
                and (self.variant is None or self.variant == candidate.variant))

    def as_tuple(self) -> tuple[str, ...]:
        """("linux", "arm64") or ("linux", "arm", "v7"), as the options hold a platform."""
        return (self.os, self.architecture, *((self.variant,) if self.variant else ()))

    def to_json(self) -> dict[str, str]:
        """The ``platform`` object of an index entry (OCI and Docker alike)."""
        out = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

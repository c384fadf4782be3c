"""The build loop: plan the stages, build each (prepare its base, then run each step), and hand
the image to the outputs. Everything it calls lives in the rooms below it."""

from __future__ import annotations

from executor.builder.build import execute, read_dockerfile

__all__ = ["execute", "read_dockerfile"]

"""Shared API shapes: pagination parameters and the page envelope."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_PAGE = 200
# Bounded: an offset past the driver's 64-bit integers was a 500, not a 400.
MAX_OFFSET = 1_000_000_000

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, le=MAX_OFFSET, description="rows to skip")]

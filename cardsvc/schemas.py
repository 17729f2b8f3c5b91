"""Shared API shapes: pagination parameters and the page envelope."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

MAX_PAGE = 200

Limit = Annotated[int, Parameter(ge=1, le=MAX_PAGE, description="page size (1–200)")]
Offset = Annotated[int, Parameter(ge=0, description="rows to skip")]

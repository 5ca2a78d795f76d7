"""Bounded path and query parameters shared by the routers."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Query

from models.common import INT32_MAX

MAX_PAGE = 100

IdPath = Annotated[int, Path(ge=1, le=INT32_MAX)]


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int


def page(
    offset: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = MAX_PAGE,
) -> Page:
    return Page(offset=offset, limit=limit)


PageDep = Annotated[Page, Depends(page)]

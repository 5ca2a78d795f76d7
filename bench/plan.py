"""The benchmark's configurations: which server, path, token and load each table row measures."""

from dataclasses import dataclass

from bench.wrk import REQUEST_TIMEOUT_SECONDS

HERO_API_CONFIGS = frozenset({3, 4, 5, 6, 7})
LIST_LIMIT = 100
STALL_CHECK_SECONDS = REQUEST_TIMEOUT_SECONDS + 3
STORM_CONNECTIONS = 8
STORM_LABEL = f"5 = 4 while {STORM_CONNECTIONS} connections log in"
ONE_HERO = "/heroes/{id}"


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    server: str
    path: str
    authenticated: bool
    connections: int
    storm: bool = False
    min_seconds: int = 0


@dataclass(frozen=True)
class Shape:
    configs: frozenset[int]
    heroes: int
    connections: int
    workers: int
    concurrency: int | None


def deep_position(heroes: int) -> int:
    return heroes * 9 // 10


def core_rows(shape: Shape) -> list[Row]:
    deep, c, page = deep_position(shape.heroes), shape.connections, f"limit={LIST_LIMIT}"
    candidates = [
        (1, Row("1", "1 ceiling: async constant", "ceiling", ONE_HERO, False, c)),
        (2, Row("2", "2 tutorial open route", "tutorial", ONE_HERO, False, c)),
        (2, Row("2p", "2p tutorial, pool enlarged", "tutorial_pool", ONE_HERO, False, c)),
        (3, Row("3", "3 hero-api, chain overridden", "overridden", ONE_HERO, False, c)),
        (4, Row("4", "4 hero-api, full chain", "hero", ONE_HERO, True, c)),
        (5, Row("5", STORM_LABEL, "hero", ONE_HERO, True, c, storm=True)),
        (6, Row("6a", "6a list, first page", "hero", f"/heroes?{page}", True, c)),
        (
            6,
            Row(
                "6b",
                f"6b list, after_id={deep}",
                "hero",
                f"/heroes?after_id={deep}&{page}",
                True,
                c,
            ),
        ),
        (6, Row("6c", f"6c list, offset={deep}", "hero", f"/heroes?offset={deep}&{page}", True, c)),
    ]
    return [row for config, row in candidates if config in shape.configs]


def extra_rows(shape: Shape) -> list[Row]:
    rows: list[Row] = []
    uses_hero_api = bool(shape.configs & HERO_API_CONFIGS)
    if shape.workers > 1 and uses_hero_api:
        label = f"4 full chain, {shape.workers} workers"
        rows.append(Row("4w", label, "hero_workers", ONE_HERO, True, shape.connections))
    if shape.concurrency is not None:
        n, stall = shape.concurrency, STALL_CHECK_SECONDS
        if 2 in shape.configs:
            rows.append(
                Row("2c", f"2 tutorial, c={n}", "tutorial", ONE_HERO, False, n, False, stall)
            )
        if uses_hero_api:
            rows.append(Row("4c", f"4 full chain, c={n}", "hero", ONE_HERO, True, n, False, stall))
    return rows


def rows_for(shape: Shape) -> list[Row]:
    return core_rows(shape) + extra_rows(shape)


def servers_for(rows: list[Row], shape: Shape) -> set[str]:
    names = {row.server for row in rows}
    if shape.configs & HERO_API_CONFIGS:
        names.add("hero")
    return names

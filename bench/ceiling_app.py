"""Framework ceiling for the benchmark: one async route returning a constant (configuration 1)."""

from fastapi import FastAPI

HERO: dict[str, object] = {
    "id": 1,
    "name": "Deadpond",
    "secret_name": "Dive Wilson",
    "age": None,
    "team_id": 1,
}

app = FastAPI()


@app.get("/heroes/{hero_id}", response_model=None)
async def read_hero(hero_id: int) -> dict[str, object]:
    return HERO

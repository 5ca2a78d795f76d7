"""The threads that run a request's blocking work, in two pools of their own.

Database work runs on DB_POOL_SIZE threads and password hashing on HASH_CONCURRENCY threads,
and the engine keeps a connection for each of them (core.db): a thread never waits for a
connection, so the pool cannot deadlock, and a login storm queues for the hashing threads
without taking a thread or a core that reads need. A hop onto a plain executor costs a
third of one through anyio's 40-token default pool (README, "How it is built")."""

import asyncio
import contextlib
import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from core.config import get_settings

T = TypeVar("T")

HASHING_NICENESS = 10
"""bcrypt runs at a lower CPU priority than the threads serving reads: it still gets every
idle cycle, but yields a contended core to the event loop."""


@lru_cache
def database_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(get_settings().db_pool_size, thread_name_prefix="hero-db")


def _lower_priority() -> None:
    # Linux keeps a niceness per thread; elsewhere, or without the right, hashing runs as is
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


@lru_cache
def hashing_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        get_settings().hash_concurrency,
        thread_name_prefix="hero-hash",
        initializer=_lower_priority,
    )


async def run_on(executor: ThreadPoolExecutor, work: Callable[[], T]) -> T:
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(executor, context.run, work)


def shutdown() -> None:
    for pool in (database_threads, hashing_threads):
        if pool.cache_info().currsize:
            pool().shutdown(wait=True)
            pool.cache_clear()

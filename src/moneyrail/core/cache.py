"""A small key/value cache: Redis when REDIS_URL is set, an in-process TTL map otherwise."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Protocol

from redis.asyncio import Redis

from moneyrail.core import limits


class Cache(Protocol):
    backend: str

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str, *, ttl_seconds: int | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def ping(self) -> None: ...
    async def stats(self) -> dict[str, Any]: ...
    async def close(self) -> None: ...


class MemoryCache:
    backend = "memory"

    def __init__(self, *, prefix: str, default_ttl_seconds: int) -> None:
        self.prefix = prefix
        self.default_ttl_seconds = default_ttl_seconds
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get(self, key: str) -> str | None:
        item = self._items.get(self.prefix + key)
        if item is None or item[0] < time.monotonic():
            self.misses += 1
            self._items.pop(self.prefix + key, None)
            return None
        self.hits += 1
        return item[1]

    async def set(self, key: str, value: str, *, ttl_seconds: int | None = None) -> None:
        ttl = ttl_seconds if ttl_seconds is not None else self.default_ttl_seconds
        full = self.prefix + key
        self._items[full] = (time.monotonic() + ttl, value)
        self._items.move_to_end(full)
        while len(self._items) > limits.memory_cache_entries_max:
            self._items.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._items.pop(self.prefix + key, None)

    async def ping(self) -> None:
        return None

    async def stats(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {
            "backend": self.backend,
            "keys": len(self._items),
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hits / total, 4) if total else None,
            "max_entries": limits.memory_cache_entries_max,
        }

    async def close(self) -> None:
        self._items.clear()


class RedisCache:
    backend = "redis"

    def __init__(self, client: Redis, *, prefix: str, default_ttl_seconds: int) -> None:
        self.client = client
        self.prefix = prefix
        self.default_ttl_seconds = default_ttl_seconds

    async def get(self, key: str) -> str | None:
        value = await self.client.get(self.prefix + key)
        return value.decode() if isinstance(value, bytes) else value

    async def set(self, key: str, value: str, *, ttl_seconds: int | None = None) -> None:
        ttl = ttl_seconds if ttl_seconds is not None else self.default_ttl_seconds
        await self.client.set(self.prefix + key, value, ex=ttl)

    async def delete(self, key: str) -> None:
        await self.client.delete(self.prefix + key)

    async def ping(self) -> None:
        await self.client.ping()

    async def stats(self) -> dict[str, Any]:
        info: dict[str, Any] = await self.client.info()
        hits = int(info.get("keyspace_hits", 0))
        misses = int(info.get("keyspace_misses", 0))
        fields = (
            "redis_version",
            "uptime_in_seconds",
            "connected_clients",
            "used_memory",
            "used_memory_human",
            "maxmemory",
            "evicted_keys",
            "expired_keys",
            "keyspace_hits",
            "keyspace_misses",
            "instantaneous_ops_per_sec",
        )
        return {
            "backend": self.backend,
            **{name: info.get(name) for name in fields},
            "hit_ratio": round(hits / (hits + misses), 4) if hits + misses else None,
        }

    async def close(self) -> None:
        await self.client.aclose()


def create_cache(*, redis_url: str | None, prefix: str, default_ttl_seconds: int) -> Cache:
    if redis_url:
        client = Redis.from_url(redis_url, socket_timeout=limits.health_check_timeout_seconds)
        return RedisCache(client, prefix=prefix, default_ttl_seconds=default_ttl_seconds)
    return MemoryCache(prefix=prefix, default_ttl_seconds=default_ttl_seconds)

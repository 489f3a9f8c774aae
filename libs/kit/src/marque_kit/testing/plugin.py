"""pytest plugin: real PostgreSQL and RabbitMQ for every test run, isolated by run id.

Local servers are used when they answer (`MARQUE_TEST_DATABASE_URL`, `MARQUE_TEST_AMQP_URL`,
`MARQUE_TEST_REDIS_URL`, defaulting to 127.0.0.1); otherwise testcontainers starts them. Each run
creates databases named `marque_t<runid>_<name>` and prefixes every exchange and queue with
`t<runid>.`; both are removed when the run ends.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# The golden-fixture checks report their failures as test code does (values shown on failure).
pytest.register_assert_rewrite("marque_kit.testing.golden")

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _pg_answers(url: str) -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(_dsn(url), timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _amqp_answers(url: str) -> bool:
    import aio_pika

    async def probe() -> bool:
        try:
            conn = await asyncio.wait_for(aio_pika.connect(url), 5)
        except (TimeoutError, OSError, aio_pika.exceptions.AMQPError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def marque_run_id() -> str:
    return "t" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def marque_pg_url() -> Iterator[str]:
    url = os.environ.get("MARQUE_TEST_DATABASE_URL", DEFAULT_PG)
    if _pg_answers(url):
        yield url
        return
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:15", driver="asyncpg") as pg:
        yield pg.get_connection_url()


@pytest.fixture(scope="session")
def marque_amqp_url() -> Iterator[str]:
    url = os.environ.get("MARQUE_TEST_AMQP_URL", DEFAULT_AMQP)
    if _amqp_answers(url):
        yield url
        return
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.10") as rabbit:
        params = rabbit.get_connection_params()
        yield f"amqp://guest:guest@{params.host}:{params.port}/"


def _redis_answers(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except (OSError, redis.RedisError):
        return False
    return True


@pytest.fixture(scope="session")
def marque_redis_url() -> Iterator[str]:
    """Redis for the gateway's rate limits and locks; keys of a run carry its own prefix."""
    url = os.environ.get("MARQUE_TEST_REDIS_URL", DEFAULT_REDIS)
    if _redis_answers(url):
        yield url
        return
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7") as container:
        host = container.get_container_host_ip()
        yield f"redis://{host}:{container.get_exposed_port(6379)}/0"


@pytest.fixture(scope="session")
def make_database(marque_pg_url: str, marque_run_id: str) -> Iterator[Callable[[str], str]]:
    """`make_database("inventory")` -> URL of a fresh, empty database for this run."""
    import asyncpg

    created: list[str] = []

    async def create(name: str) -> None:
        conn = await asyncpg.connect(_dsn(marque_pg_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    async def drop_all() -> None:
        conn = await asyncpg.connect(_dsn(marque_pg_url))
        try:
            for name in created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    def factory(name: str) -> str:
        db_name = f"marque_{marque_run_id}_{name}"
        asyncio.run(create(db_name))
        created.append(db_name)
        return _with_db(marque_pg_url, db_name)

    yield factory
    if not os.environ.get("MARQUE_TEST_KEEP"):
        asyncio.run(drop_all())


@pytest.fixture(scope="session")
def amqp_namespace(marque_amqp_url: str, marque_run_id: str) -> Iterator[str]:
    """Prefix for every exchange and queue this run declares."""
    namespace = f"{marque_run_id}."
    yield namespace
    if not os.environ.get("MARQUE_TEST_KEEP"):
        delete_run_broker_names(marque_amqp_url, namespace)


def delete_run_broker_names(amqp_url: str, namespace: str) -> None:
    """Remove this run's queues and exchanges."""
    from marque_kit.broker import delete_broker_names, list_broker_names

    asyncio.run(
        delete_broker_names(
            amqp_url,
            queues=list_broker_names("queues", namespace),
            exchanges=list_broker_names("exchanges", namespace),
        )
    )


@pytest.fixture(scope="session")
def marque_test_env(marque_amqp_url: str, amqp_namespace: str) -> dict[str, Any]:
    """Settings overrides every service under test shares."""
    return {
        "env": "test",
        "amqp_url": marque_amqp_url,
        "amqp_namespace": amqp_namespace,
        "retry_delays": [0.2, 0.5],
        "relay_poll_seconds": 0.5,
    }

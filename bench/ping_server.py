"""The HTTP baseline: a bare FastAPI JSON endpoint, served exactly as `marque serve` serves.

`python -m bench.ping_server PORT` — same uvicorn settings as `marque_kit.cli.cmd_serve`
(no access log, no log config, lifespan on), so the ratio measures only our service's work.
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


def main(port: int) -> None:
    config = uvicorn.Config(
        create_app(),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main(int(sys.argv[1]))

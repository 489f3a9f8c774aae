from alembic import context

from marque_kit.migrations import run_alembic_env

run_alembic_env(None, context.config)

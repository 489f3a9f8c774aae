# syntax=docker/dockerfile:1
# The one image recipe for every Python service (docs/deploy.md, "Images").
# Build context is the repository root:
#   docker build -f deploy/docker/service.Dockerfile --build-arg SERVICE=inventory -t marque/inventory:dev .
# The gateway lives outside services/, so it also passes --build-arg SERVICE_DIR=gateway.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG SERVICE

# ---- build: a self-contained venv with the libs and the service --------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
ARG SERVICE_DIR=services/${SERVICE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN test -n "${SERVICE}" || { echo "build with --build-arg SERVICE=<name>" >&2; exit 1; }
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:${PATH}

WORKDIR /src
COPY constraints.txt ./
# The local packages come from their paths below; pins or editables for them would conflict.
RUN grep -Ev '^(-e[[:space:]]|marque[-_])' constraints.txt > /tmp/constraints.txt
COPY libs/proto libs/proto
COPY libs/kit libs/kit
# The service is installed in place at /app/<dir> so that its alembic.ini and migrations/ sit
# where `marque migrate` finds them, exactly as in a checkout.
COPY ${SERVICE_DIR} /app/${SERVICE_DIR}
RUN pip install -c /tmp/constraints.txt ./libs/proto ./libs/kit -e /app/${SERVICE_DIR} \
 && pip check \
 && python -m compileall -q /app/${SERVICE_DIR}

# ---- runtime: slim, non-root, nothing but the venv and the service's own files ----------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 marque \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin marque
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
LABEL org.opencontainers.image.title="marque-${SERVICE}" \
      org.opencontainers.image.description="Marque ${SERVICE} service"
# Numeric, so that Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 50051
ENTRYPOINT ["marque"]

# ---- one stage per service: its default command (CMD cannot expand a build ARG) ---------------
FROM runtime AS service-inventory
CMD ["serve", "inventory"]

FROM runtime AS service-crm
CMD ["serve", "crm"]

FROM runtime AS service-sales
CMD ["serve", "sales"]

FROM runtime AS service-aftersales
CMD ["serve", "aftersales"]

FROM runtime AS service-finance
CMD ["serve", "finance"]

FROM runtime AS service-reporting
CMD ["serve", "reporting"]

FROM runtime AS service-gateway
CMD ["serve", "gateway"]

# The default (last) stage is the one named by SERVICE; an unknown SERVICE fails the build here.
FROM service-${SERVICE}

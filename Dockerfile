# syntax=docker/dockerfile:1
# One image, four roles: `keel web` (default), `keel worker`, `keel migrate`, `keel preflight`.
# The contract below (ENTRYPOINT, CMD, USER, EXPOSE, ENV) is checked against the command
# lines the process-level tests run (tests/runtime/test_dockerfile.py); see docs/deploy.md.

# The same base in both stages: the venv's interpreter symlink points at
# /usr/local/bin/python3.13, which must exist unchanged in the final stage.
ARG PYTHON_IMAGE=python:3.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
# Bytecode compiled now, because the read-only root filesystem cannot take __pycache__
# later; copy (not hardlink) out of the cache mount; never download another Python.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first, in their own layer: they change far less often than the code.
# --no-dev leaves out the dev group, and with it keel[infra] (Pulumi) and the test tools;
# the three model providers' SDKs are in, so any agent the project declares can run.
COPY pyproject.toml uv.lock README.md ./
ENV UV_EXTRAS="--extra openai --extra anthropic --extra bedrock"
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --no-install-project $UV_EXTRAS

# --no-editable installs the keel package into the venv itself. The project it serves
# (the example project, with its manage.py) is source in /app, the working directory,
# which keel puts on sys.path as manage.py does; its bytecode is compiled here too.
COPY src/ src/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable $UV_EXTRAS
COPY manage.py ./
COPY example/ example/
RUN /app/.venv/bin/python -m compileall -q example manage.py

# Static files with content-hashed names, collected once here. The settings choose the
# manifest storage only when STATIC_ROOT/staticfiles.json exists, so an empty manifest is
# written first; collectstatic replaces it. The placeholders exist only for this step:
# with DEBUG off the settings refuse to load without a SECRET_KEY and ALLOWED_HOSTS.
ENV STATIC_ROOT=/app/staticfiles \
    DJANGO_SETTINGS_MODULE=example.settings
RUN mkdir -p "$STATIC_ROOT" \
    && printf '{"version": "1.1", "paths": {}}' > "$STATIC_ROOT/staticfiles.json" \
    && DEBUG=false SECRET_KEY=build-only-placeholder-never-used-at-run-time \
       ALLOWED_HOSTS=build.invalid \
       /app/.venv/bin/keel manage collectstatic --noinput --verbosity 1


FROM ${PYTHON_IMAGE} AS runtime
# tini as PID 1: the kernel gives PID 1 no default signal actions, so a role without its
# own SIGTERM handler (migrate, preflight, a management command) would ignore ECS's
# SIGTERM until the SIGKILL stopTimeout later; tini forwards TERM to the role (gunicorn
# then drains gracefully) and reaps orphaned children. No compilers: runtime packages only.
# The PostgreSQL client (pg_dump, pg_restore, psql) moves data into the stack's database
# (docs/deploy.md, Cut over). Its major version is the stack's engine version: pg_dump
# refuses to dump a newer server, and bookworm ships only 15, so it comes from the
# PostgreSQL project's own repository, set up by bookworm's postgresql-common (whose
# package carries that repository's signing key).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends tini=0.19.0-1+b3 'postgresql-common=248*' \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install --yes --no-install-recommends 'postgresql-client-17=17.*' \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 keel \
    && useradd --system --uid 10001 --gid keel --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin keel

# PYTHONDONTWRITEBYTECODE: the root filesystem is read-only on ECS (bytecode was compiled
# at build time). Only /tmp is writable; gunicorn keeps its worker heartbeat in /dev/shm
# and its control socket is off (keel.runtime.web.gunicorn_conf). KEEL_IMAGE: keel preflight
# does not look for the deployment files here, which .dockerignore leaves out on purpose.
ENV PATH=/app/.venv/bin:$PATH \
    KEEL_IMAGE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=example.settings \
    STATIC_ROOT=/app/staticfiles \
    PORT=8000
WORKDIR /app
COPY --from=build --chown=root:root /app/.venv /app/.venv
COPY --from=build --chown=root:root /app/staticfiles /app/staticfiles
COPY --from=build --chown=root:root /app/manage.py /app/manage.py
COPY --from=build --chown=root:root /app/example /app/example

# The one writable path (keel.infra.containers.WRITABLE_PATHS): on ECS the task mounts a
# volume here over the read-only root, and Fargate starts such a volume with the image's
# contents and permissions only when the image declares the path a VOLUME (otherwise
# root-owned 0755, which user 10001 cannot write).
VOLUME ["/tmp"]
# Numeric so ECS and Kubernetes can verify "not root" without reading /etc/passwd; the
# files above stay owned by root, so the application cannot modify its own code.
USER 10001:10001
# keel.constants.PORT, the port the target group forwards to.
EXPOSE 8000
# No HEALTHCHECK: the ALB target group checks /healthz on web tasks, and the same image
# runs the worker and migrate roles, which serve no HTTP.
ENTRYPOINT ["tini", "--", "keel"]
CMD ["web"]

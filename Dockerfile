# Build stage: wheels for the project and every dependency (compilers stay here, not in the image).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY scheduler scheduler
# The Bot API emulator: only `rrbot demo` uses it, offline.
COPY emulator emulator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# Runtime stage: the wheels installed, the content, a non-root user.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/data CONTENT_DIR=/app/content PORT=8080
RUN useradd --create-home --uid 10001 rrbot
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-compile /wheels/*.whl && rm -rf /wheels
COPY --chown=rrbot content content
RUN mkdir -p /app/data && chown rrbot /app/data
USER rrbot
EXPOSE 8080
# /healthz answers 503 when this replica cannot use Redis.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"PORT\"]}/healthz', timeout=4)"
# SIGTERM (docker stop) ends the bot gracefully: sends in flight finish, the scheduler lock is released.
STOPSIGNAL SIGTERM
CMD ["rrbot", "run"]

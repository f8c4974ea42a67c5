FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 rrbot
WORKDIR /app
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY content content
RUN mkdir -p /app/data && chown rrbot /app/data
USER rrbot
ENV DATA_DIR=/app/data CONTENT_DIR=/app/content
CMD ["rrbot", "run"]

# Build: resolve the locked runtime dependencies and install the project, without dev tools.
FROM python:3.11-slim AS build
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY clients/python/pyproject.toml clients/python/README.md ./clients/python/
RUN uv sync --frozen --no-dev --no-install-workspace
COPY service ./service
COPY generated ./generated
COPY clients/python ./clients/python
RUN uv sync --frozen --no-dev --no-editable

# Run: the virtualenv only, as an unprivileged user.
FROM python:3.11-slim
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home app \
    && mkdir /data \
    && chown app:app /data
COPY --from=build /app/.venv /app/.venv
# Reached from outside the container, so bound to every interface explicitly: without
# FINANCE_TRACKER_AUTH the server warns that every caller may do anything.
ENV PATH="/app/.venv/bin:$PATH" \
    FINANCE_TRACKER_HOST=0.0.0.0 \
    FINANCE_TRACKER_DATA_DIR=/data \
    FINANCE_TRACKER_METRICS_PORT=9464
USER 10001:10001
VOLUME ["/data"]
# gRPC, and Prometheus metrics over HTTP
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
    CMD ["finance-tracker", "health"]
ENTRYPOINT ["finance-tracker"]
CMD ["serve"]

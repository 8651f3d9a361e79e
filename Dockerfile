# presswatch in a container: `docker compose up -d` with compose.yaml (README, "Running it on a server").
# The database lives on the /data volume (the config says `database: /data/presswatch.db`); the config is
# mounted at /config/config.yaml; the secrets come from the environment (compose's env_file).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY watchers ./watchers
COPY notifiers ./notifiers
RUN pip install . && rm -rf /src

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home --shell /usr/sbin/nologin presswatch \
    && mkdir -p /data /config \
    && chown presswatch:presswatch /data \
    && chmod 700 /data

USER presswatch
WORKDIR /data
VOLUME ["/data"]
ENV PRESSWATCH_CONFIG=/config/config.yaml
# SIGTERM (docker stop) lets the daemon finish what it is sending, then it exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["presswatch"]
CMD ["run"]

# groupbot image: `docker build -t groupbot .`, then see compose.yaml and docs/deploy.md.
# The config is mounted at /etc/groupbot/config.toml; SQLite data (if used) lives in /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY schedules ./schedules
COPY storage ./storage
RUN pip install . \
    && useradd --system --home-dir /data --shell /usr/sbin/nologin groupbot \
    && mkdir -p /data /etc/groupbot \
    && chown groupbot /data

USER groupbot
WORKDIR /data
# inside a container the server must listen beyond loopback; publish the port on the host's
# loopback only and put a TLS proxy in front (docs/deploy.md)
ENV GROUPBOT_SERVER__HOST=0.0.0.0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
STOPSIGNAL SIGTERM
ENTRYPOINT ["groupbot"]
CMD ["serve", "-c", "/etc/groupbot/config.toml"]

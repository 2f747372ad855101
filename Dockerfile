# The festival's image, for every role: `festival serve` (the default), `festival worker`
# and `festival migrate`. On one machine /data holds the SQLite database, the media and the
# secret key (docker-compose.single.yml); with PostgreSQL and S3 (docker-compose.yml) it is
# only scratch space for renditions in the making.

# The phone upload page's resumable uploader comes from npm, never from the repository.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FESTIVAL_DATA_DIR=/data

RUN useradd --create-home --uid 1000 festival \
    && mkdir /data && chown festival:festival /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY festival ./festival
COPY media ./media
COPY --from=assets /app/node_modules ./node_modules
# Editable, so the package finds node_modules beside it in /app.
RUN pip install --no-cache-dir -e .

USER festival
VOLUME ["/data"]
EXPOSE 8000
# The web process's check; a worker's container uses `festival worker --check` instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
CMD ["festival", "serve", "--host", "0.0.0.0", "--port", "8000"]

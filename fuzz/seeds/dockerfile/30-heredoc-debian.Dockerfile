# syntax=docker/dockerfile:1.4
FROM debian:bookworm-slim
RUN <<EOF
set -e
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl
EOF
COPY <<EOF /etc/app.conf
listen = 8080
EOF
USER root
CMD ["sleep", "infinity"]

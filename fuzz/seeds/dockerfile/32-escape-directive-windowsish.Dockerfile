# escape=`
FROM debian:bookworm
RUN apt-get update && `
    apt-get install -y --no-install-recommends git && `
    rm -rf /var/lib/apt/lists/*
USER 1000:1000

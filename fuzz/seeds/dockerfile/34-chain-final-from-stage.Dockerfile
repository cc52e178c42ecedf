FROM debian:bookworm-slim AS base
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake ninja-build \
    && apt-get clean && rm -rf /var/lib/apt/lists/*
WORKDIR /app

FROM base AS builder
COPY . .
RUN cmake -B build -G Ninja && cmake --build build

FROM base AS runtime
COPY --from=builder /app/build/app /app/app
CMD ["/app/app"]

FROM golang:1.22-alpine AS builder
WORKDIR /build
COPY . .
RUN CGO_ENABLED=0 GOOS=linux go build -ldflags '-s -w' -o server .

FROM gcr.io/distroless/static:nonroot
COPY --from=builder /build/server /app/server
WORKDIR /app
USER nonroot:nonroot
ENTRYPOINT ["./server"]

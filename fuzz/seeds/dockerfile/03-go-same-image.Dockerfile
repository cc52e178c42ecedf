FROM golang:alpine AS builder
ENV GOOS=linux
WORKDIR /build
COPY main.go ./
RUN go build -o hello

FROM golang:alpine
WORKDIR /app
COPY --from=builder /build/hello ./
RUN adduser --disabled-password app
USER app
CMD ["./hello"]

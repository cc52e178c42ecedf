ARG BASE_IMAGE
ARG GO_IMAGE=golang:1.26-bookworm

FROM ${GO_IMAGE} AS build
ENV CGO_ENABLED=0
WORKDIR /src
COPY . .
RUN --mount=type=secret,id=netrc,target=/root/.netrc go build -o /out/app ./cmd/app

FROM ${BASE_IMAGE}
COPY --from=build /out/app /app
USER 65532
ENTRYPOINT ["/app"]

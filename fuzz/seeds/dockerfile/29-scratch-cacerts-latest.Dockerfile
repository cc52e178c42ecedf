FROM alpine:latest as certs
RUN apk --update add ca-certificates

FROM scratch AS prod
COPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY . .
EXPOSE 8201
ENTRYPOINT ["./fileServer"]

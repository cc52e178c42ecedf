FROM alpine:3.19
COPY . /src
WORKDIR /src
RUN apk add --no-cache --virtual .build-deps cmake build-base \
    && cmake -B build && cmake --build build && cmake --install build \
    && apk del .build-deps \
    && apk add --no-cache libstdc++
USER 10001
ENTRYPOINT ["/usr/local/bin/hello"]

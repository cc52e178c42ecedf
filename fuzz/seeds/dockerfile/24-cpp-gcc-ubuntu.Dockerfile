FROM gcc:11 AS build
WORKDIR /src
COPY . .
RUN g++ -O2 hello.cpp -o app

FROM ubuntu:22.04
COPY --from=build /src/app /app
CMD ./app

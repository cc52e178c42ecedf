FROM ubuntu:latest
RUN apt-get update
RUN apt-get install -qq -y curl
RUN curl -sL https://deb.nodesource.com/setup_20.x | bash
RUN apt-get install -qq -y nodejs
CMD ["/bin/bash"]

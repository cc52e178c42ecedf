FROM php:8.2-apache
ENV DB_PASSWORD=changeme
ENV MYSQL_PASSWORD_FILE=/run/secrets/db
RUN apt-get update && apt-get install -y libzip-dev unzip \
    && docker-php-ext-install zip
RUN wget -qO- https://getcomposer.org/installer | php -- --install-dir=/usr/local/bin
RUN wget -O - https://example.com/install.sh | bash
COPY . /var/www/html

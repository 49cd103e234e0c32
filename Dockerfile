# One image for every service; the container command picks the binary:
#   repstream-api serve | repstream-api migrate | repstream-api seed
#   repstream-outbox-relay | repstream-projector run | repstream-workers
FROM rust:1.95 AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bins \
 && mkdir -p /out \
 && cp target/release/repstream-api target/release/repstream-outbox-relay \
       target/release/repstream-projector target/release/repstream-workers /out/

FROM debian:bookworm-slim
# ca-certificates: TLS to real AWS / managed Postgres in production
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --no-create-home repstream \
 && mkdir -p /app && chown repstream /app
COPY --from=build /out/ /usr/local/bin/
# writable working dir (relative defaults such as MAILBOX_DIR=.local/mailbox land here)
WORKDIR /app
USER repstream
ENV LOG_FORMAT=json RUST_LOG=info
EXPOSE 8080
CMD ["repstream-api", "serve"]

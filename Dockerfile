# syntax=docker/dockerfile:1
#
# octopoll container image: build with cargo, run on debian-slim as a non-root user.
#   docker build -t octopoll .
#   docker run --rm -p 9161:9161 octopoll demo
#   docker run --rm -p 9161:9161 -v "$PWD/config:/etc/octopoll:ro" octopoll

# --- build -------------------------------------------------------------------------
# Needs a toolchain at least as new as the newest rust-version in Cargo.lock (notify-types
# wants 1.91), not only Cargo.toml's rust-version.
FROM rust:1.91-slim-bookworm AS builder
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds (BuildKit, the default
# builder of docker compose); the binary is copied out because the cache is not part
# of the image.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin octopoll \
    && install -m 0755 target/release/octopoll /usr/local/bin/octopoll

# --- run ---------------------------------------------------------------------------
FROM debian:bookworm-slim
# curl is only for the HEALTHCHECK.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin octopoll \
    && mkdir -p /etc/octopoll
COPY --from=builder /usr/local/bin/octopoll /usr/local/bin/octopoll
USER 10001:10001
EXPOSE 9161
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:9161/-/healthy || exit 1
ENTRYPOINT ["/usr/local/bin/octopoll"]
# A directory: every *.yml in it is merged, and octopoll reloads when files change.
CMD ["--config", "/etc/octopoll", "--listen", "0.0.0.0:9161"]

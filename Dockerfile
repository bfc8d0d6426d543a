# syntax=docker/dockerfile:1.7
#
# One image for both tiers; the command picks the binary (`ingress` or `workers`).
# Migrations are embedded in the binaries (sqlx::migrate!), so the runtime needs only the
# binaries, CA certificates and the Clockify API catalog (openapi.json).

############################ build ############################
FROM rust:1.95-bookworm AS builder

WORKDIR /build

# No database at image build time: compile-checked queries (sqlx::query!) must come from the
# offline data committed in .sqlx/.
ENV SQLX_OFFLINE=true

COPY . .

# Dependency caching: BuildKit cache mounts keep the cargo registry and the target directory
# between builds, so a source change recompiles only the workspace crates. This is simpler and
# less fragile than a dummy-source layer (which must list every workspace member and fight
# cargo's mtime fingerprints). The target directory lives only in the cache mount, so the
# binaries are copied out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/build/target,sharing=locked \
    cargo build --release --locked --bin ingress --bin workers \
    && mkdir -p /out \
    && cp target/release/ingress target/release/workers /out/

############################ runtime ############################
# Same Debian release as the builder, so the glibc the binaries link against is present.
FROM debian:12.12-slim

# ca-certificates: outbound https to Clockify. curl: the compose healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --user-group --uid 10001 --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin studio

# The working directory is where the default CLOCKIFY_OPENAPI_PATH (`openapi.json`) resolves.
WORKDIR /app

COPY --from=builder /out/ingress /out/workers /usr/local/bin/
# The catalog of callable Clockify operations (CLOCKIFY_OPENAPI_PATH resolves here).
COPY openapi.json /app/openapi.json

# Numeric, so orchestrators can verify the user is not root without reading /etc/passwd.
USER 10001:10001

# 8080: ingress (INGRESS_BIND). 9090: workers' /health, /ready, /metrics (WORKERS_BIND).
EXPOSE 8080 9090

# Both binaries stop cleanly on SIGTERM (Docker's default stop signal); no init needed.
CMD ["ingress"]

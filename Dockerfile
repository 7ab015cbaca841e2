# archil-mock as a minimal container: a static binary in an empty image.
#
#   docker build -t archil-mock .
#   docker run --rm -p 8080:8080 archil-mock
#
# Every flag can also be set with its ARCHIL_MOCK_* environment variable
# (`docker run archil-mock --help` lists them). The shipped fixtures are in
# /fixtures, e.g. `-e ARCHIL_MOCK_FIXTURE=/fixtures/flaky-create.json`.
#
# Where no base image can be pulled, `make image` packs a binary built on the
# host into the same runtime stage (Dockerfile.local); keep the two in step.

# --- build: a static musl binary (the alpine toolchain targets musl natively,
# so this works on amd64 and arm64 alike).
FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked \
 && cp target/release/archil-mock /archil-mock

# --- runtime: nothing but the binary and the fixtures.
FROM scratch
COPY --from=build /archil-mock /archil-mock
COPY fixtures /fixtures
# Not root: any numeric uid works in an image without /etc/passwd.
USER 65532:65532
# Listen on every interface inside the container, on the exposed port.
ENV ARCHIL_MOCK_HOST=0.0.0.0 \
    ARCHIL_MOCK_PORT=8080
EXPOSE 8080
# No curl in a scratch image: the binary checks /_mock/health itself
# (so a container started with --no-admin reports unhealthy).
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 \
    CMD ["/archil-mock", "healthcheck"]
# SIGTERM (docker stop) drains in-flight requests, then exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/archil-mock"]

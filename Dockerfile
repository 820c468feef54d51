# hush in a container: build with the Swift toolchain, run on a slim Debian.
# The build steps are the ones .ci/run uses; a test checks that every path copied here exists.
FROM swift:6.3-bookworm AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsqlite3-dev libssl-dev libzstd-dev libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Config ./Config
RUN swift build -c release --product hush --static-swift-stdlib \
    && install -D "$(swift build -c release --show-bin-path)/hush" /out/hush

FROM debian:bookworm-slim
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libsqlite3-0 libssl3 libzstd1 libpq5 libstdc++6 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /var/lib/hush --create-home hush
COPY --from=build /out/hush /usr/local/bin/hush
COPY Config/hush.json /etc/hush/hush.json
USER hush
WORKDIR /var/lib/hush
# Outside loopback hush needs API keys and HUSH_ERASURE_KEY; see README, "Running".
ENV HUSH_CONFIG=/etc/hush/hush.json HUSH_HOST=0.0.0.0 HUSH_DATABASE=/var/lib/hush/hush.db
# The database, its WAL and the decision log live on the volume.
VOLUME /var/lib/hush
EXPOSE 8080
# `hush healthcheck` asks /healthz on the configured port; no curl in the image.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/hush", "healthcheck", "--timeout", "4"]
# SIGTERM: /readyz answers 503 for server.drain_grace_ms while hush still serves, then it
# drains; stop with a timeout longer than both (docker stop -t 20).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/hush"]
CMD ["serve"]

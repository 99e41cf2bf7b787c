# The demo services of docker-compose.yml (frontend, api, worker): one image,
# the role is the command's argument.
# Building an example builds the dev-dependencies too, the benches' peer
# crates among them: fastrace needs Rust 1.91 (checked by
# tests/compose_file_matches_code.rs).
FROM rust:1.91-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --example demo

FROM debian:bookworm-slim
COPY --from=build /src/target/release/examples/demo /usr/local/bin/demo
ENTRYPOINT ["demo"]

# The demo services of docker-compose.yml (frontend, api, worker): one image,
# the role is the command's argument.
FROM rust:1.88-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --example demo

FROM debian:bookworm-slim
COPY --from=build /src/target/release/examples/demo /usr/local/bin/demo
ENTRYPOINT ["demo"]

# syntax=docker/dockerfile:1
# Portcullis: a static, cgo-free binary on a minimal base, running as a non-root user, with its
# SQLite database and system secret on the /data volume. For production point
# PORTCULLIS_DATABASE at PostgreSQL and mount the secret file from your secret store.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/portcullis ./cmd/portcullis \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/portcullis /usr/local/bin/portcullis
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
ENV PORTCULLIS_ADDR=0.0.0.0:8080 \
    PORTCULLIS_DATABASE=sqlite:/data/portcullis.db \
    PORTCULLIS_SECRET_FILE=/data/portcullis.secret
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]

# Build a static scimd binary (pure Go: no cgo, SQLite included) and run it
# as a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/scimd ./cmd/scimd

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/scimd /usr/local/bin/scimd
WORKDIR /data
USER nonroot:nonroot
ENV SCIMD_LISTEN=:8080 SCIMD_DATABASE_URL=sqlite:/data/scimd.db
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["/usr/local/bin/scimd", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/scimd"]
CMD ["serve"]

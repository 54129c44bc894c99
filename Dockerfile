# syntax=docker/dockerfile:1
# The StorageBridge Host as a container image. Build from the repository root (the build context):
#   docker build -t storagebridge .
# Walk-through, configuration and probes: docs/deploy/container.md. The test
# tests/StorageBridge.Backends.S3.Tests/Deploy/ContainerImageTests.cs reads this file (the publish command, ENV, WORKDIR,
# ENTRYPOINT) and runs the published Host exactly so: keep one `RUN dotnet publish`, `ENV key=value` and an exec-form
# ENTRYPOINT, the forms it understands.

# Build: the SDK publishes for the image's architecture (-a $TARGETARCH, set by BuildKit: amd64, arm64).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src
COPY . .
# Framework-dependent for one runtime identifier: the runtime image brings ASP.NET Core, and only this platform's
# native SQLite library is published. No apphost: the entry point runs `dotnet`.
RUN dotnet publish src/hosts/StorageBridge.Host/StorageBridge.Host.csproj -c Release -a $TARGETARCH --self-contained false -p:UseAppHost=false -o /app \
    && mkdir -p /volume/data

# Runtime: ASP.NET Core on Ubuntu chiseled: no shell, no package manager, runs as the non-root `app` user.
FROM mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled AS runtime
COPY --from=build /app /app
# The volume's mount point /data, owned by `app` (UID 1654, $APP_UID) so a new named volume is writable by it (the
# folder is copied as an entry of /volume/, so --chown applies to it; the chiseled image has no shell to mkdir).
COPY --from=build --chown=1654:1654 /volume/ /
USER $APP_UID
# Relative paths in the configuration resolve here, on the volume (the content root stays /app).
WORKDIR /data
# Configuration is environment variables only (docs/configuration.md); these are the image's defaults:
# all interfaces on 8080, SQLite metadata and the `default` target's files on the volume.
ENV ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_ENVIRONMENT=Production \
    StorageBridge__Metadata__Provider=Sqlite \
    StorageBridge__Metadata__Path=/data/storagebridge.db \
    StorageBridge__Targets__default__Root=/data/files
VOLUME /data
EXPOSE 8080
# Probes for orchestrators: GET /healthz/live (liveness) and GET /healthz/ready (readiness). The chiseled image has
# no shell or HTTP client to run a HEALTHCHECK with; compose and Kubernetes probe from outside (docs/deploy/container.md).
ENTRYPOINT ["dotnet", "/app/StorageBridge.Host.dll"]

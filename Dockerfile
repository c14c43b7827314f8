# skein's container image: `skein` is the entry point.
#   docker build -t skein .
#   docker run --rm -p 8786:8786 -e SKEIN_TOKEN=... skein scheduler --host 0.0.0.0
#   docker run --rm -e SKEIN_TOKEN=... skein worker ws://<scheduler-host>:8786
# Build stage: the native addon (cargo + napi) and the TypeScript. Runtime stage: Node, the
# production dependencies, dist/ and the addon; no compiler, no sources.

ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM rust:1-bookworm AS build
# Node from the same image the runtime uses, so the addon is built against the Node it runs on.
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
WORKDIR /src
# Dependencies first: these layers are reused while only sources change.
COPY package.json package-lock.json ./
# --ignore-scripts: the package's own install script would build the addon before the sources are here.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY crates ./crates
COPY native/index.js native/index.d.ts ./native/
RUN npx napi build --platform --release --output-dir native --js index.js --dts index.d.ts
COPY tsconfig.json ./
COPY ts ./ts
RUN npx tsc -p tsconfig.json

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /opt/skein
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY --from=build /src/native/index.js /src/native/index.d.ts /src/native/*.node ./native/
# Workers run users' tasks: not as root.
USER node
# The scheduler's port (clients, workers, GET /health). Workers' peer servers take a free port each.
EXPOSE 8786
ENTRYPOINT ["node", "/opt/skein/dist/cluster/cli.js"]
CMD ["--help"]

# syntax=docker/dockerfile:1
# The chat server image: `docker build -t docker-chat .`
# Stage 1 compiles the TypeScript server and bundles the browser client,
# stage 2 installs production dependencies only, stage 3 is what runs.
# Node 20 reached end of life in April 2026: the image runs the current LTS (the
# code needs >= 20.19; CI tests it on the Node 20 of its machines).
# Debian slim, not Alpine: glibc is what native npm modules (sharp, argon2 bindings) ship their
# first-class prebuilt binaries for, and what CI builds and runs this Dockerfile on (its own
# Debian bookworm base, passed as --build-arg NODE_IMAGE=..., since no registry is reachable there).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs an install script to build (esbuild finds its
# platform binary without its postinstall; native modules must ship prebuilt binaries in their
# npm packages), and none should run during a build.
RUN npm ci --ignore-scripts --no-audit --no-fund
# The rest of the context (.dockerignore keeps it to sources, views and public assets).
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STORAGE_VOLUME=/uploads
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/views ./views
COPY --from=build /app/public ./public
COPY package.json ./
# The avatar folder must exist and belong to the app user before a volume is
# mounted on it: Docker copies this ownership into a new named volume.
RUN mkdir -p /uploads && chown node:node /uploads
# The official image's unprivileged user (uid 1000); Kubernetes runs it with fsGroup 1000.
USER node
EXPOSE 3000
VOLUME ["/uploads"]
# Node itself, since the slim image has neither curl nor wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node as PID 1 receives SIGTERM directly; src/main.ts drains connections on it.
CMD ["node", "dist/main.js"]

# One image for every role, running the build (`npm run build`: plain JavaScript in dist/) with node.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY --from=build /app/dist ./dist
ENV NODE_ENV=production HOST=0.0.0.0
# The image's unprivileged user (uid 1000), as the Kubernetes manifests require.
USER node
# The API; the compose file runs workers from the same image with dist/src/worker-main.js.
CMD ["node", "dist/src/server-main.js"]

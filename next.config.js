// @ts-check
/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // gzip buffers server-sent events and delays live run output; a reverse proxy can compress.
  compress: false,
  // Native or connection-holding packages stay outside the bundle.
  serverExternalPackages: ["ssh2", "acme-client", "prom-client", "bullmq", "ioredis", "better-sqlite3", "@prisma/adapter-better-sqlite3", "@prisma/client"],
  typescript: { ignoreBuildErrors: false },
};

export default nextConfig;

import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  // Native and Node-only packages stay external to the server bundle.
  serverExternalPackages: ["better-sqlite3", "@node-rs/argon2", "@prisma/adapter-better-sqlite3", "@prisma/adapter-pg", "pg"],
  poweredByHeader: false,
  experimental: {
    serverActions: { bodySizeLimit: "128kb" },
  },
  typescript: { ignoreBuildErrors: false },
};

export default nextConfig;

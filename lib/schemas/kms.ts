// Input schemas for KMS cluster registration, shared by the form and the services.
import { z } from "zod";
import { plainName } from "./plain-text";

const PEM_MAX = 64 * 1024;
const pem = (what: string, label: RegExp) =>
  z
    .string()
    .trim()
    .min(1, `Paste the ${what} (PEM)`)
    .max(PEM_MAX, `The ${what} is too large (64 KiB at most)`)
    .refine((v) => label.test(v), `This does not look like a PEM ${what}`);

const HOST = /^(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$|^\d{1,3}(\.\d{1,3}){3}$/;

/** "host:port" (port defaults to 5696), one per line or comma-separated; 1 to 8 servers. */
export const kmsServersSchema = z
  .string()
  .trim()
  .min(1, "Enter at least one KMS server, e.g. kms1.example.com:5696")
  .max(2000)
  .transform((text, ctx) => {
    const servers: { host: string; port: number }[] = [];
    for (const entry of text.split(/[\s,]+/).filter(Boolean)) {
      const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(entry);
      const port = m?.[2] ? Number(m[2]) : 5696;
      if (!m || !HOST.test(m[1]) || port < 1 || port > 65535) {
        ctx.addIssue({ code: "custom", message: `"${entry.slice(0, 60)}" is not host:port` });
        return z.NEVER;
      }
      servers.push({ host: m[1], port });
    }
    if (servers.length > 8) {
      ctx.addIssue({ code: "custom", message: "At most 8 servers per cluster" });
      return z.NEVER;
    }
    return servers;
  });

export const registerKmsClusterSchema = z.object({
  name: plainName("cluster"),
  servers: kmsServersSchema,
  caPem: pem("CA certificate", /-----BEGIN CERTIFICATE-----/),
  clientCertPem: pem("client certificate", /-----BEGIN CERTIFICATE-----/),
  clientKeyPem: pem("client private key", /-----BEGIN (RSA |EC )?PRIVATE KEY-----/),
  // Standard key providers (ids) this cluster serves; forms send a comma-separated list.
  keyProviderIds: z
    .union([z.array(z.string().max(64)), z.string().max(4000).transform((v) => v.split(",").filter(Boolean))])
    .default([])
    .refine((ids) => ids.length <= 50, "At most 50 key providers"),
});
export type RegisterKmsClusterInput = z.input<typeof registerKmsClusterSchema>;

export const kmsClusterIdSchema = z.object({ clusterId: z.string().trim().min(1).max(64) });

export const setDefaultKeyProviderSchema = z.object({ keyProviderId: z.string().trim().min(1).max(64) });
export const assignKeyProviderTenantSchema = z.object({
  keyProviderId: z.string().trim().min(1).max(64),
  // "" = the provider's own (no tenant)
  tenantId: z.string().trim().max(64).nullable().transform((v) => v || null),
});

import type { Metadata } from "next";
import { headers } from "next/headers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Strongroom", template: "%s · Strongroom" },
  description: "Backup, restore and replication for vSphere VMs encrypted with VM Encryption",
};

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // The CSP nonce (proxy.ts) is per request: reading it renders every page per request, so no
  // prerendered page carries scripts without it.
  await headers();
  return (
    <html lang="en">
      <body className="min-h-screen">{children}</body>
    </html>
  );
}

import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Strongroom", template: "%s · Strongroom" },
  description: "Backup, restore and replication for vSphere VMs encrypted with VM Encryption",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen">{children}</body>
    </html>
  );
}

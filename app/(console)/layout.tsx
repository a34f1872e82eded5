import Link from "next/link";
import { Providers } from "@/app/providers";
import { Logo } from "@/components/shell/logo";
import { LabBanner } from "@/components/shell/lab-banner";
import { Nav, type NavItem } from "@/components/shell/nav";
import { SignOutButton } from "@/components/shell/sign-out-button";
import { hasPermission, ROLE_LABELS } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { getPlatformInfo } from "@/lib/services/inventory/get-platform-info";
import { countInbox } from "@/lib/services/approvals/list-approval-requests";

// Every page below is per-user and re-checks the session: never prerender.
export const dynamic = "force-dynamic";

export default async function ConsoleLayout({ children }: { children: React.ReactNode }) {
  const actor = await requireActor();
  const [platform, inbox] = await Promise.all([getPlatformInfo(actor), countInbox(actor)]);
  const items: NavItem[] = [
    { href: "/", label: "Dashboard" },
    ...(hasPermission(actor.role, "job:read")
      ? [
          { href: "/jobs", label: "Backup jobs" },
          { href: "/sessions", label: "Sessions" },
          { href: "/replication", label: "Replication" },
          { href: "/replicas", label: "Replicas" },
          { href: "/workers", label: "Workers" },
          { href: "/repositories", label: "Repositories" },
          { href: "/recovery-keysets", label: "Recovery keysets" },
          { href: "/password-recovery", label: "Password recovery" },
        ]
      : []),
    ...(hasPermission(actor.role, "restore:run") ? [{ href: "/restore", label: "Restore" }] : []),
    { href: "/inventory", label: "Inventory" },
    { href: "/vms", label: "Virtual machines" },
    { href: "/datastores", label: "Datastores" },
    { href: "/key-providers", label: "Key providers" },
    { href: "/proxies", label: "Backup proxies" },
    ...(hasPermission(actor.role, "user:read") ? [{ href: "/users", label: "Users" }] : []),
    { href: "/approvals", label: "Approvals", badge: inbox },
    ...(hasPermission(actor.role, "job:read") ? [{ href: "/compliance", label: "Compliance" }] : []),
    ...(hasPermission(actor.role, "audit:read") ? [{ href: "/audit", label: "Audit log" }] : []),
  ];
  return (
    <Providers>
      <LabBanner platform={platform} />
      <div className="flex min-h-[calc(100vh-2rem)]">
        <aside className="flex w-56 shrink-0 flex-col bg-slate-900 px-3 py-4">
          <Link href="/" className="mb-6 px-3 text-lg font-semibold tracking-tight text-white">
            <Logo />
          </Link>
          <Nav items={items} />
          <div className="mt-auto border-t border-slate-700 px-3 pt-3" data-testid="current-user">
            <div className="truncate text-sm font-medium text-white">{actor.name}</div>
            <div className="truncate text-xs text-slate-400">{actor.email}</div>
            <div className="mt-1 text-xs text-slate-300" data-testid="current-role">
              {ROLE_LABELS[actor.role]}
            </div>
            <div className="mt-2">
              <SignOutButton />
            </div>
          </div>
        </aside>
        <main className="min-w-0 flex-1 px-8 py-6">{children}</main>
      </div>
    </Providers>
  );
}

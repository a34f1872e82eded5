import Link from "next/link";
import { FailbackWizard } from "@/components/failback/failback-wizard";
import { PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { requireActor } from "@/lib/auth/session";
import { AppError } from "@/lib/errors/app-error";
import { hasPermission } from "@/lib/permissions/roles";
import { getFailbackOptions } from "@/lib/services/failback/get-failback-options";
import { failbackRefusal } from "@/lib/services/failover/failover-rules";
import { startFailbackAction } from "../failback-actions";

export const metadata = { title: "Fail back a replica" };
export const dynamic = "force-dynamic";

// The failback wizard of one replica (FBK-1): Backup Administrators only (failback:run); the
// options service authorizes again, and startFailbackAction checks every choice on the server.
export default async function FailbackWizardPage({ searchParams }: { searchParams: Promise<{ replica?: string }> }) {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "failback:run")) return <Forbidden what="fail back replicas" />;
  const { replica } = await searchParams;
  const header = <PageHeader title="Fail back a replica" description="Bring a failed-over replica home: its data goes back to the production site, to the original VM or another one, and the failed-back VM is powered on there. Commit or undo the failback afterwards." />;
  if (typeof replica !== "string" || !replica) {
    return (
      <>
        {header}
        <p className="text-sm text-slate-700">Choose the replica to fail back on the <Link href="/replicas" className="text-brand-600 hover:underline">replicas view</Link>: Fail back… is offered for a failed-over replica.</p>
      </>
    );
  }
  const options = await getFailbackOptions(actor, replica).catch((e: unknown) => {
    if (e instanceof AppError && e.code === "NOT_FOUND") return null;
    throw e;
  });
  if (!options) {
    return (
      <>
        {header}
        <p className="text-sm text-red-800" data-testid="failback-missing">This replica does not exist (its job may have been removed). <Link href="/replicas" className="text-brand-600 hover:underline">Back to the replicas</Link></p>
      </>
    );
  }
  const refusal = failbackRefusal("failback", options.replica.state, options.replica.replicaVmName);
  return (
    <>
      {header}
      {refusal ? (
        <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900" data-testid="failback-not-allowed">{refusal} <Link href="/replicas" className="text-brand-600 hover:underline">Back to the replicas</Link></p>
      ) : (
        <FailbackWizard options={options} start={startFailbackAction} />
      )}
    </>
  );
}

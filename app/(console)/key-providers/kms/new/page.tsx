import Link from "next/link";
import { RegisterKmsForm } from "@/components/kms/register-kms-form";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { hasPermission } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { listKeyProviders } from "@/lib/services/inventory/list-key-providers";
import { registerKmsClusterAction, testKmsConnectionAction } from "../../actions";

export const metadata = { title: "Register a KMS cluster" };

export default async function RegisterKmsPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "keyprovider:manage")) return <Forbidden what="register KMS clusters" />;
  const standard = (await listKeyProviders(actor)).filter((k) => k.kind === "STANDARD");
  return (
    <>
      <div className="mb-2 text-sm text-slate-500"><Link href="/key-providers" className="hover:underline">Key providers</Link> / Register a KMS cluster</div>
      <PageHeader
        title="Register a KMS cluster"
        description="Strongroom connects to the KMS over KMIP with mutual TLS, to watch that it answers and, later, to protect backups with KMS keys. Test the connection before you register."
      />
      <Card>
        <RegisterKmsForm
          test={testKmsConnectionAction}
          register={registerKmsClusterAction}
          keyProviders={standard.map((k) => ({ id: k.id, name: k.name, siteName: k.site.name, kmsClusterName: k.kmsCluster?.name ?? null }))}
        />
      </Card>
    </>
  );
}

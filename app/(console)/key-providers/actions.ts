"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { AppError, validatedAction } from "@/lib/auth/safe-action";
import { assignKeyProviderTenantSchema, kmsClusterIdSchema, registerKmsClusterSchema, setDefaultKeyProviderSchema } from "@/lib/schemas/kms";
import { assignKeyProviderTenant, setDefaultKeyProvider } from "@/lib/services/kms/key-provider-settings";
import { checkKmsClusterNow } from "@/lib/services/kms/check-kms-clusters";
import { registerKmsCluster } from "@/lib/services/kms/register-kms-cluster";
import { removeKmsCluster } from "@/lib/services/kms/remove-kms-cluster";
import { testKmsConnection } from "@/lib/services/kms/test-kms-connection";

// The form posts raw PEM text; the schema's transform turns the server list into objects, so the
// services receive the raw form values again (they validate for themselves).
const rawForm = registerKmsClusterSchema.extend({ servers: z.string().max(2000) });

export const testKmsConnectionAction = validatedAction("kms.test-connection", rawForm, async (actor, input) => {
  const r = await testKmsConnection(actor, input);
  // A failed test is an answer for the form: shown as its error, nothing stored.
  if (!r.ok) throw new AppError("UNAVAILABLE", `Connection failed. ${r.error}`);
  return `Connected to ${r.server} in ${r.latencyMs} ms. Server certificate: ${r.serverSubject}. KMIP versions: ${r.versions.join(", ")}.`;
});

export const registerKmsClusterAction = validatedAction("kms.register", rawForm, async (actor, input) => {
  const c = await registerKmsCluster(actor, input);
  revalidatePath("/key-providers");
  return c.status === "reachable"
    ? `Registered ${c.name}; it answers (KMIP ${c.kmipVersions.join(", ")}).`
    : `Registered ${c.name}, but it does not answer yet: ${c.lastError ?? "unreachable"}. It is checked every minute.`;
});

export const checkKmsClusterNowAction = validatedAction("kms.check", kmsClusterIdSchema, async (actor, input) => {
  const r = await checkKmsClusterNow(actor, input);
  revalidatePath("/key-providers");
  return r.ok ? `Reachable: ${r.server}, KMIP ${r.versions.join(", ")}.` : `Unreachable: ${r.error}`;
});

export const removeKmsClusterAction = validatedAction("kms.remove", kmsClusterIdSchema, async (actor, input) => {
  const { removed, pendingApprovalId } = await removeKmsCluster(actor, input);
  revalidatePath("/key-providers");
  if (pendingApprovalId) return `Four-eyes approval is on: removing ${removed} waits for a Security Officer (see Approvals).`;
  return `Removed ${removed}. Its key providers are no longer monitored; the keys on the KMS are untouched.`;
});

export const setDefaultKeyProviderAction = validatedAction("keyprovider.set-default", setDefaultKeyProviderSchema, async (actor, input) => {
  await setDefaultKeyProvider(actor, input);
  revalidatePath("/key-providers", "layout");
  return "This key provider is now the site's default.";
});

export const assignKeyProviderTenantAction = validatedAction("keyprovider.assign-tenant", assignKeyProviderTenantSchema, async (actor, input) => {
  await assignKeyProviderTenant(actor, input);
  revalidatePath("/key-providers", "layout");
  return input.tenantId ? "Assigned to the tenant." : "No longer dedicated to a tenant.";
});

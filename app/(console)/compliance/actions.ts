"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { runComplianceChecks } from "@/lib/services/compliance/run-compliance";

export const runComplianceAction = validatedAction("compliance.run", z.object({}), async (actor) => {
  const run = await runComplianceChecks(actor);
  revalidatePath("/compliance");
  const na = run.naCount ? `, ${run.naCount} not applicable` : "";
  return { message: `Checks ran: ${run.passCount} passed, ${run.failCount} failed${na}.`, id: run.id };
});

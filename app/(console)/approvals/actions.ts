"use server";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { validatedAction } from "@/lib/auth/safe-action";
import { confirmApprovalPassword, confirmApprovalSchema } from "@/lib/services/approvals/confirm-approval-password";
import { approveRequest, cancelRequest, rejectRequest } from "@/lib/services/approvals/decide-approval";
import { setFourEyes } from "@/lib/services/approvals/four-eyes-settings";

const id = z.string().trim().min(1).max(64);

// Approving is two steps (SEC-2): the password yields a single-use proof bound to this request and
// its payload; the approval spends it. The password never travels with the approval itself.
export const confirmApprovalAction = validatedAction("approval.reauthenticate", confirmApprovalSchema, async (actor, input) => {
  const { proof } = await confirmApprovalPassword(actor, input);
  return { message: "Password confirmed.", token: proof };
});

export const approveRequestAction = validatedAction(
  "approval.approve",
  z.object({ requestId: id, proof: z.string().trim().min(1, "Enter your password to confirm").max(128), comment: z.string().max(1000).default("") }),
  async (actor, input) => {
    const r = await approveRequest(actor, input);
    revalidatePath("/approvals");
    if (r.sessionId) {
      revalidatePath("/sessions");
      return { message: "Approved: the restore started as the requester's.", id: r.sessionId };
    }
    return "Approved and applied.";
  },
);

export const rejectRequestAction = validatedAction("approval.reject", z.object({ requestId: id, comment: z.string().trim().min(1, "Say why you reject it").max(1000) }), async (actor, input) => {
  await rejectRequest(actor, input);
  revalidatePath("/approvals");
  return "Rejected; nothing was changed.";
});

export const cancelRequestAction = validatedAction("approval.cancel", z.object({ requestId: id }), async (actor, input) => {
  await cancelRequest(actor, input);
  revalidatePath("/approvals");
  return "Request cancelled.";
});

export const setFourEyesAction = validatedAction(
  "four-eyes.settings",
  z.object({ enabled: z.union([z.boolean(), z.enum(["true", "false", "on"]).transform((v) => v !== "false")]).default(false), expiryHours: z.coerce.number().int().min(1, "At least 1 hour").max(720, "At most 720 hours") }),
  async (actor, input) => {
    const r = await setFourEyes(actor, input);
    revalidatePath("/approvals");
    if (r.requestId) return "Turning four-eyes off is itself a request: another Security Officer must approve it.";
    return input.enabled ? "Four-eyes approval is on." : "Saved.";
  },
);

import "server-only";
import { z } from "zod";
import { db, type DbTx } from "@/lib/db/client";
import { AppError } from "@/lib/errors/app-error";

// The four-eyes switch (SEC-2) and the rule that keeps it meaningful: while it is on, at least two
// active Security Officers exist, or nobody could approve anybody.

const KEY = "four-eyes";
export const fourEyesSchema = z.object({ enabled: z.boolean(), expiryHours: z.number().int().min(1).max(720) });
export type FourEyes = z.infer<typeof fourEyesSchema>;
export const FOUR_EYES_DEFAULT: FourEyes = { enabled: false, expiryHours: 24 };

export async function readFourEyes(tx: DbTx = db): Promise<FourEyes> {
  const row = await tx.consoleSetting.findUnique({ where: { key: KEY } });
  if (!row) return FOUR_EYES_DEFAULT;
  const parsed = fourEyesSchema.safeParse(JSON.parse(row.value));
  return parsed.success ? parsed.data : FOUR_EYES_DEFAULT;
}

export async function writeFourEyes(tx: DbTx, value: FourEyes): Promise<void> {
  const json = JSON.stringify(fourEyesSchema.parse(value));
  await tx.consoleSetting.upsert({ where: { key: KEY }, create: { key: KEY, value: json }, update: { value: json } });
}

export async function activeSecurityOfficers(tx: DbTx = db): Promise<number> {
  return tx.user.count({ where: { role: "SECURITY_OFFICER", disabled: false } });
}

/** In the same transaction as a user change: with four-eyes on, two active Security Officers remain. */
export async function keepTwoSecurityOfficers(tx: DbTx): Promise<void> {
  if (!(await readFourEyes(tx)).enabled) return;
  if ((await activeSecurityOfficers(tx)) < 2) {
    throw new AppError("CONFLICT", "Four-eyes approval is on and needs at least two active Security Officers; this change would leave fewer. Add another Security Officer first.");
  }
}

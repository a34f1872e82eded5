// Input schemas of VM runtime operations, shared by the VM page and the services.
import { z } from "zod";

const vmId = z.string().trim().min(1, "Missing VM id").max(64);

export const powerVmSchema = z.object({ vmId, action: z.enum(["on", "off"], { message: "Choose power on or off" }) });

export const guestWritesSchema = z.object({
  vmId,
  percent: z.coerce
    .number({ message: "Enter a percentage" })
    .min(0.1, "Change at least 0.1% of the blocks")
    .max(100, "At most 100% of the blocks"),
});

export const changeVmEncryptionSchema = z
  .object({
    vmId,
    action: z.enum(["encrypt", "decrypt", "rekey"], { message: "Choose encrypt, decrypt or re-key" }),
    keyProviderId: z.string().trim().max(64).optional().transform((v) => v || undefined),
  })
  .refine((v) => v.action === "decrypt" || v.keyProviderId, { message: "Choose a key provider", path: ["keyProviderId"] });

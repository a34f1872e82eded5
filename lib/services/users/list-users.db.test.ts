import { describe, expect, it } from "vitest";
import { makeActor, makeUser } from "@/lib/testing/factories";
import { listUsers } from "./list-users";

describe("listUsers", () => {
  it("lists users as DTOs (never a hash or session version), active ones first", async () => {
    const officer = await makeActor("SECURITY_OFFICER");
    const active = await makeUser({ role: "RESTORE_OPERATOR" });
    const disabled = await makeUser({ role: "BACKUP_VIEWER", disabled: true });
    const users = await listUsers(officer);

    expect(users.find((u) => u.id === active.id)).toMatchObject({ email: active.email, role: "RESTORE_OPERATOR", disabled: false });
    expect(users.find((u) => u.id === disabled.id)).toMatchObject({ disabled: true });
    for (const u of users) {
      expect(u).not.toHaveProperty("passwordHash");
      expect(u).not.toHaveProperty("sessionVersion");
    }
    const firstDisabled = users.findIndex((u) => u.disabled);
    expect(users.slice(firstDisabled).every((u) => u.disabled)).toBe(true);
  });
});

// The failback wizard's options (FBK-1) are Backup Administrators' only, like failback itself;
// an unknown replica is "not found", not an empty wizard.
import { beforeAll, describe, expect, it } from "vitest";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { getFailbackOptions } from "./get-failback-options";

let admin: Awaited<ReturnType<typeof makeActor>>;
let operator: Awaited<ReturnType<typeof makeActor>>;
let viewer: Awaited<ReturnType<typeof makeActor>>;

beforeAll(async () => {
  [admin, operator, viewer] = await Promise.all([makeActor("BACKUP_ADMIN"), makeActor("RESTORE_OPERATOR"), makeActor("BACKUP_VIEWER")]);
});

describe("getFailbackOptions", () => {
  it("refuses Restore Operators and Backup Viewers", async () => {
    await expectAppError(getFailbackOptions(operator, "any"), "FORBIDDEN");
    await expectAppError(getFailbackOptions(viewer, "any"), "FORBIDDEN");
  });

  it("says an unknown replica is not found", async () => {
    const e = await expectAppError(getFailbackOptions(admin, "no-such-replica"), "NOT_FOUND");
    expect(e.message).toContain("This replica does not exist");
  });
});

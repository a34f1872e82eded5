import { beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "@/lib/auth/actor";
import { db } from "@/lib/db/client";
import { expectAppError } from "@/lib/testing/db-state";
import { makeActor } from "@/lib/testing/factories";
import { listVms } from "./list-vms";
import { searchKey } from "./search-key";
import { syncInventoryFromPlatform } from "./sync-inventory";

type VmRow = Awaited<ReturnType<typeof loadVms>>[number];
const loadVms = () => db.vm.findMany({ include: { site: true, tenant: true, keyProvider: true } });

let viewer: Actor;
let all: VmRow[];
beforeAll(async () => {
  await syncInventoryFromPlatform();
  viewer = await makeActor("BACKUP_VIEWER");
  all = await loadVms();
});

/** Every VM matching the filter, through the service's paging: ids in order, and the total it reported. */
async function listAll(filter: Record<string, string>): Promise<{ ids: string[]; total: number }> {
  const ids: string[] = [];
  let total = -1;
  for (let page = 1; ; page++) {
    const result = await listVms(viewer, { ...filter, page: String(page), pageSize: "100" });
    total = result.total;
    ids.push(...result.rows.map((r) => r.id));
    if (page >= result.pageCount) break;
  }
  return { ids, total };
}

async function expectFilter(filter: Record<string, string>, predicate: (vm: VmRow) => boolean) {
  const expected = all.filter(predicate).map((v) => v.id);
  const { ids, total } = await listAll(filter);
  expect(total).toBe(expected.length);
  expect([...ids].sort()).toEqual([...expected].sort());
  return expected.length;
}

describe("listVms filters", () => {
  it("without filters lists every VM, sorted by name", async () => {
    const first = await listVms(viewer, {});
    expect(first).toMatchObject({ total: all.length, page: 1, pageSize: 25, pageCount: Math.ceil(all.length / 25) });
    const names = first.rows.map((r) => r.name);
    const sorted = all.map((v) => v.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(names).toEqual(sorted.slice(0, 25));
    expect(first.rows[0]).toEqual(
      expect.objectContaining({ id: expect.any(String), siteName: expect.any(String), diskCount: expect.any(Number), provisionedBytes: expect.any(Number) }),
    );
  });

  it("by site", async () => {
    for (const site of await db.site.findMany()) expect(await expectFilter({ site: site.id }, (v) => v.siteId === site.id)).toBeGreaterThan(0);
  });

  it('by tenant, and "none" for provider-owned VMs', async () => {
    const tenants = await db.tenant.findMany();
    expect(tenants.length).toBeGreaterThan(0);
    for (const t of tenants) await expectFilter({ tenant: t.id }, (v) => v.tenantId === t.id);
    expect(await expectFilter({ tenant: "none" }, (v) => v.tenantId === null)).toBeGreaterThan(0);
  });

  it("by encryption, both ways", async () => {
    expect(await expectFilter({ encrypted: "yes" }, (v) => v.encrypted)).toBeGreaterThan(0);
    expect(await expectFilter({ encrypted: "no" }, (v) => !v.encrypted)).toBeGreaterThan(0);
    await expectFilter({ encrypted: "" }, () => true);
  });

  it("by key provider", async () => {
    const used = new Set(all.map((v) => v.keyProviderId).filter((k): k is string => k !== null));
    expect(used.size).toBeGreaterThan(0);
    for (const kp of used) await expectFilter({ keyProvider: kp }, (v) => v.keyProviderId === kp);
  });

  it("by vTPM, both ways", async () => {
    expect(await expectFilter({ vtpm: "yes" }, (v) => v.vtpm)).toBeGreaterThan(0);
    expect(await expectFilter({ vtpm: "no" }, (v) => !v.vtpm)).toBeGreaterThan(0);
  });

  it("combines filters", async () => {
    const site = all[0].siteId;
    await expectFilter({ site, encrypted: "yes", vtpm: "no" }, (v) => v.siteId === site && v.encrypted && !v.vtpm);
  });

  it("searches names case-insensitively, whatever the case typed", async () => {
    const vm = all[Math.floor(all.length / 2)];
    const part = vm.name.slice(1, Math.min(vm.name.length, 6));
    for (const q of [part.toUpperCase(), part.toLowerCase(), `  ${part}  `]) {
      const n = await expectFilter({ q }, (v) => v.name.toLowerCase().includes(part.toLowerCase()));
      expect(n).toBeGreaterThan(0);
    }
    const { ids } = await listAll({ q: vm.name.toUpperCase() });
    expect(ids).toContain(vm.id);
  });

  it("treats LIKE's special characters in the search text literally", async () => {
    // No lab VM has them: give one a name that does, for this test only.
    const vm = all[0];
    const odd = `${vm.name}_A%b\\c`;
    await db.vm.update({ where: { id: vm.id }, data: { name: odd, searchName: searchKey(odd) } });
    try {
      for (const q of ["%", "_", "\\", "_a%B\\", "_A%b\\C"]) {
        const { ids, total } = await listAll({ q });
        expect({ q, ids, total }).toEqual({ q, ids: [vm.id], total: 1 });
      }
      await expectFilter({ q: "-_" }, () => false); // "_" is not "any character"
    } finally {
      await db.vm.update({ where: { id: vm.id }, data: { name: vm.name, searchName: vm.searchName } });
    }
    await expectFilter({ q: "%" }, () => false);
  });

  it("accepts an unknown id as a filter and finds nothing", async () => {
    await expectFilter({ site: "no-such-site" }, () => false);
  });
});

describe("listVms paging", () => {
  it("page 2 continues page 1 without overlap", async () => {
    const p1 = await listVms(viewer, { page: 1, pageSize: 25 });
    const p2 = await listVms(viewer, { page: 2, pageSize: 25 });
    expect(p2.rows.length).toBe(Math.min(25, all.length - 25));
    expect(p2.rows.length).toBeGreaterThan(0);
    const ids1 = new Set(p1.rows.map((r) => r.id));
    expect(p2.rows.some((r) => ids1.has(r.id))).toBe(false);
    expect(p1.rows.at(-1)!.name <= p2.rows[0].name).toBe(true);
  });

  it("a page beyond the end is empty but still reports the total", async () => {
    const beyond = await listVms(viewer, { page: "99", pageSize: "25" });
    expect(beyond).toEqual({ rows: [], total: all.length, page: 99, pageSize: 25, pageCount: Math.ceil(all.length / 25) });
    const emptyFilter = await listVms(viewer, { q: "zz-no-such-vm" });
    expect(emptyFilter).toMatchObject({ rows: [], total: 0, pageCount: 1 });
  });
});

describe("listVms input", () => {
  it.each([
    [{ page: 0 }, "page"],
    [{ page: "x" }, "page"],
    [{ page: 1.5 }, "page"],
    [{ pageSize: 30 }, "pageSize"],
    [{ encrypted: "maybe" }, "encrypted"],
    [{ vtpm: true }, "vtpm"],
    [{ q: "x".repeat(101) }, "q"],
    [{ site: "s".repeat(65) }, "site"],
    [{ tenant: 42 }, "tenant"],
  ])("refuses %o with INVALID_INPUT on %s", async (raw, field) => {
    const error = await expectAppError(listVms(viewer, raw), "INVALID_INPUT");
    expect(Object.keys(error.fieldErrors ?? {})).toEqual([field]);
  });
});

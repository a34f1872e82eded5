import { VmList, type VmFilters } from "@/components/inventory/vm-list";
import { PageHeader } from "@/components/ui/card";
import { ErrorNotice } from "@/components/ui/states";
import { requireActor } from "@/lib/auth/session";
import { vmListQuerySchema } from "@/lib/schemas/inventory";
import { listFilterOptions } from "@/lib/services/inventory/list-filter-options";
import { listVms } from "@/lib/services/inventory/list-vms";

export const metadata = { title: "Virtual machines" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function VmsPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireActor();
  const raw = Object.fromEntries(Object.entries(await searchParams).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]));
  const parsed = vmListQuerySchema.safeParse(raw);
  // The service validates raw input itself; invalid filters in the address fall back to none.
  const rawQuery = parsed.success ? raw : {};
  const query = parsed.success ? parsed.data : vmListQuerySchema.parse({});
  const [page, options] = await Promise.all([listVms(actor, rawQuery), listFilterOptions(actor)]);
  const yesNo = (b: boolean | undefined) => (b === undefined ? "" : b ? "yes" : "no");
  const filters: VmFilters = {
    q: query.q ?? "",
    site: query.site ?? "",
    tenant: query.tenant ?? "",
    keyProvider: query.keyProvider ?? "",
    encrypted: yesNo(query.encrypted),
    vtpm: yesNo(query.vtpm),
    page: query.page,
    pageSize: query.pageSize,
  };
  return (
    <>
      <PageHeader title="Virtual machines" description="Every VM the platform reports, with its VM Encryption state. Filter by site, tenant, encryption, key provider or vTPM." />
      {!parsed.success && (
        <div className="mb-4">
          <ErrorNotice title="Some filters in the address were not valid and were ignored">{parsed.error.issues.map((i) => i.message).join("; ")}</ErrorNotice>
        </div>
      )}
      <VmList initialFilters={filters} initialPage={page} options={options} />
    </>
  );
}

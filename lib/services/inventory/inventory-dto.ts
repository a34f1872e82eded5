import "server-only";

// DTOs: only what the pages need; sizes as numbers of bytes (well below 2^53).
export interface VmRowDto {
  id: string;
  name: string;
  siteName: string;
  tenantName: string | null;
  folder: string;
  powerState: string;
  encrypted: boolean;
  keyProviderName: string | null;
  vtpm: boolean;
  guestOsEncrypted: boolean;
  diskCount: number;
  provisionedBytes: number;
}

export interface VmPageDto {
  rows: VmRowDto[];
  total: number;
  page: number;
  pageSize: number;
  pageCount: number;
}

export function bytes(v: bigint | number): number {
  return Number(v);
}

import "server-only";
import type { Role } from "@/lib/permissions/roles";

/** The signed-in user as every service receives it: always re-read from the database. */
export interface Actor {
  id: string;
  email: string;
  name: string;
  role: Role;
  /** Where the request came from, for the audit log. */
  sourceIp: string | null;
}

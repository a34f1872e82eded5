import { Badge } from "@/components/ui/badge";
import { formatDateTime } from "@/lib/format";

export function KmsStatusBadge({ status, unreachableSince }: { status: string; unreachableSince: string | null }) {
  if (status === "reachable") return <Badge tone="good">Reachable</Badge>;
  if (status === "unreachable") return <Badge tone="bad" title={unreachableSince ? `since ${formatDateTime(unreachableSince)}` : undefined}>Unreachable{unreachableSince ? ` since ${formatDateTime(unreachableSince)}` : ""}</Badge>;
  return <Badge>Not checked yet</Badge>;
}

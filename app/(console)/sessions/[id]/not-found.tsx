import { ErrorNotice } from "@/components/ui/states";
import Link from "next/link";

export default function SessionNotFound() {
  return (
    <div className="max-w-xl space-y-4" data-testid="not-found">
      <ErrorNotice title="This session does not exist">
        There is no backup session at this address. Its job may have been removed (a job&apos;s sessions go with it), or the link is wrong.
      </ErrorNotice>
      <Link href="/jobs" className="inline-block text-sm font-medium text-brand-600 hover:underline">All backup jobs →</Link>
    </div>
  );
}

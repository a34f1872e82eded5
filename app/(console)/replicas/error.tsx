"use client";
import { ErrorNotice } from "@/components/ui/states";

export default function ReplicasError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="max-w-xl" data-testid="replicas-error">
      <ErrorNotice title="The replicas could not be loaded">
        <p>The server could not read the replicas. Nothing was changed. Try again; if it keeps failing, check that the database is reachable.</p>
        {error.digest && <p className="mt-1 text-xs text-red-700">Reference: {error.digest}</p>}
      </ErrorNotice>
      <button onClick={reset} className="mt-4 rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700">Try again</button>
    </div>
  );
}

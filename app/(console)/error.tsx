"use client";
import { ErrorNotice } from "@/components/ui/states";

// proxy.ts answers an oversized request with this sentence (lib/http/body-limit.ts); a server
// action's client throws it here, so say it rather than the generic text.
const TOO_LARGE = /^The request is too large/;

export default function ConsoleError({ error, reset }: { error: Error & { digest?: string }; reset: () => void }) {
  return (
    <div className="max-w-xl">
      <ErrorNotice title={TOO_LARGE.test(error.message) ? "The request was refused" : "This page could not be loaded"}>
        <p>
          {TOO_LARGE.test(error.message)
            ? `${error.message} Nothing was changed.`
            : "The server could not complete the request. Nothing was changed. Try again; if it keeps failing, check that the database is reachable."}
        </p>
        {error.digest && <p className="mt-1 text-xs text-red-700">Reference: {error.digest}</p>}
      </ErrorNotice>
      <button onClick={reset} className="mt-4 rounded-md bg-brand-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-brand-700">
        Try again
      </button>
    </div>
  );
}

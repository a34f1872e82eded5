import { EmptyState } from "@/components/ui/states";

export default function NotFound() {
  return (
    <div className="max-w-xl" data-testid="not-found">
      <EmptyState title="Not found" action={{ href: "/", label: "Back to the dashboard" }}>
        There is nothing at this address. The object may have been removed from the platform at the last sync, or the link is wrong.
      </EmptyState>
    </div>
  );
}

import { EmptyState } from "@/components/ui/states";

export default function JobNotFound() {
  return (
    <div className="max-w-xl" data-testid="not-found">
      <EmptyState title="This backup job does not exist" action={{ href: "/jobs", label: "All backup jobs" }}>
        It may have been removed, or the link is wrong. Its restore points, if any, are still listed on their repository&apos;s page.
      </EmptyState>
    </div>
  );
}

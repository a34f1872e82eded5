import { EmptyState } from "@/components/ui/states";

export default function RepositoryNotFound() {
  return (
    <div className="max-w-xl" data-testid="not-found">
      <EmptyState title="This repository does not exist" action={{ href: "/repositories", label: "All repositories" }}>
        It may have been removed from the console, or the link is wrong.
      </EmptyState>
    </div>
  );
}

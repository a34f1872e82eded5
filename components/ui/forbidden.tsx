import { ErrorNotice } from "./states";

export function Forbidden({ what }: { what: string }) {
  return (
    <div className="max-w-xl" data-testid="forbidden">
      <ErrorNotice title="You do not have access to this page">
        Your role does not allow you to {what}. If you need it, ask a Backup Administrator to change your role.
      </ErrorNotice>
    </div>
  );
}

import { CreateUserForm } from "@/components/users/create-user-form";
import { SessionButtons } from "@/components/users/session-buttons";
import { UserRowActions } from "@/components/users/user-row-actions";
import { Badge } from "@/components/ui/badge";
import { Card, PageHeader } from "@/components/ui/card";
import { Forbidden } from "@/components/ui/forbidden";
import { Table, Td, Th } from "@/components/ui/table";
import { hasPermission, ROLE_LABELS } from "@/lib/permissions/roles";
import { requireActor } from "@/lib/auth/session";
import { formatDateTime } from "@/lib/format";
import { listUsers } from "@/lib/services/users/list-users";
import { changeUserRoleAction, clearSignInLocksAction, createUserAction, endUserSessionsAction, resetUserPasswordAction, setUserDisabledAction } from "./actions";

export const metadata = { title: "Users" };

export default async function UsersPage() {
  const actor = await requireActor();
  if (!hasPermission(actor.role, "user:read")) return <Forbidden what="see the users of this console" />;
  const users = await listUsers(actor);
  const canManage = hasPermission(actor.role, "user:manage");
  const canUnlock = hasPermission(actor.role, "signin:unlock");
  return (
    <>
      <PageHeader
        title="Users"
        description="People who can sign in, and their role. There is no self-registration: a Backup Administrator creates every account. Disabling a user, resetting their password or ending their sessions signs them out at once. After too many wrong passwords an account is locked for the address they came from; a Backup Administrator or a Security Officer can clear the lock."
      />
      {canManage && (
        <Card title="New user" className="mb-6">
          <CreateUserForm action={createUserAction} />
        </Card>
      )}
      <Table testId="user-table">
        <thead>
          <tr><Th>User</Th><Th>Role</Th><Th>Status</Th><Th>Last sign-in</Th>{(canManage || canUnlock) && <Th>Manage</Th>}</tr>
        </thead>
        <tbody className="divide-y divide-slate-100">
          {users.map((u) => (
            <tr key={u.id} data-testid="user-row">
              <Td><div className="font-medium">{u.name}</div><div className="text-xs text-slate-500">{u.email}</div></Td>
              <Td>{ROLE_LABELS[u.role]}</Td>
              <Td>
                {u.disabled ? <Badge tone="bad">Disabled</Badge> : <Badge tone="good">Active</Badge>}
                {u.signInLocked && <span className="ml-1" data-testid="sign-in-locked"><Badge tone="warn">Sign-in locked</Badge></span>}
              </Td>
              <Td className="text-xs text-slate-500">{formatDateTime(u.lastSignInAt)}</Td>
              {(canManage || canUnlock) && (
                <Td>
                  {canManage && <UserRowActions user={u} isSelf={u.id === actor.id} actions={{ changeRole: changeUserRoleAction, setDisabled: setUserDisabledAction, resetPassword: resetUserPasswordAction }} />}
                  <SessionButtons
                    userId={u.id}
                    email={u.email}
                    locked={u.signInLocked}
                    endSessions={canManage && u.id !== actor.id ? endUserSessionsAction : undefined}
                    clearLock={canUnlock ? clearSignInLocksAction : undefined}
                  />
                </Td>
              )}
            </tr>
          ))}
        </tbody>
      </Table>
    </>
  );
}

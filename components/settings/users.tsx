"use client";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { UserPlus } from "lucide-react";
import { InviteUserInput, ROLES } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { useMe } from "../auth/me";
import { Button } from "../ui/button";
import { DataTable } from "../ui/data-table";
import { Card, CardHeader } from "../ui/card";
import { Field, FormError, Input, Select } from "../ui/field";
import { Badge } from "../ui/badge";
import { ShownOnce } from "../ui/shown-once";
import { applyServerErrors, formLevelError } from "../auth/server-errors";
import { useConfirm } from "../ui/use-confirm";

type Values = z.input<typeof InviteUserInput>;

export function UsersPanel() {
  const trpc = useTRPC();
  const me = useMe();
  const queryClient = useQueryClient();
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const users = useQuery(trpc.users.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const showLink = (r: { user: { email: string }; invitePath: string }) => setLink({ email: r.user.email, url: `${window.location.origin}${r.invitePath}` });
  const form = useForm<Values>({ resolver: zodResolver(InviteUserInput), defaultValues: { email: "", name: "", role: "viewer" } });
  const invite = useMutation(
    trpc.users.invite.mutationOptions({
      onSuccess: (r) => {
        showLink(r);
        form.reset();
        void refresh();
      },
      onError: (e) => applyServerErrors(e, form.setError, ["email", "name", "role"]),
    }),
  );
  const reinvite = useMutation(trpc.users.reinvite.mutationOptions({ onSuccess: showLink }));
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSettled: () => void refresh() }));
  const setDisabled = useMutation(trpc.users.setDisabled.mutationOptions({ onSettled: () => void refresh() }));
  const confirm = useConfirm();
  const errors = form.formState.errors;
  const actionError = setRole.error ?? setDisabled.error ?? reinvite.error;

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader title="Invite a user" description="Rampart makes a one-time link (valid 72 hours) for them to choose a password. Send it to them yourself." />
        <form onSubmit={form.handleSubmit((v) => invite.mutate(InviteUserInput.parse(v)))} className="grid grid-cols-1 items-start gap-4 p-4 md:grid-cols-4" noValidate>
          <div className="md:col-span-4">
            <FormError message={formLevelError(invite.error)} />
          </div>
          <Field label="Email" htmlFor="invite-email" error={errors.email?.message}>
            <Input id="invite-email" type="email" aria-invalid={!!errors.email} {...form.register("email")} />
          </Field>
          <Field label="Name" htmlFor="invite-name" error={errors.name?.message}>
            <Input id="invite-name" aria-invalid={!!errors.name} {...form.register("name")} />
          </Field>
          <Field label="Role" htmlFor="invite-role" error={errors.role?.message} hint="viewer: read only · operator: define and apply · admin: everything">
            <Select id="invite-role" {...form.register("role")}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </Select>
          </Field>
          <div className="pt-6">
            <Button type="submit" disabled={invite.isPending}>
              <UserPlus size={16} aria-hidden /> {invite.isPending ? "Inviting…" : "Invite"}
            </Button>
          </div>
        </form>
        {link ? <ShownOnce title={`Invitation link for ${link.email} (works once; shown only now):`} value={link.url} testId="invite-link" /> : null}
      </Card>

      <Card>
        <CardHeader title="Users" />
        <FormError message={actionError?.message} />
        {confirm.dialog}
        <DataTable
          framed={false}
          label="Users"
          rowTestId="user-row"
          rows={users.data ?? []}
          columns={[
            {
              id: "user",
              header: "User",
              value: (u) => `${u.name} ${u.email}`,
              cell: (u) => (
                <>
                  <div className="font-medium">{u.name}</div>
                  <div className="text-xs text-slate-500">{u.email}</div>
                </>
              ),
            },
            {
              id: "role",
              header: "Role",
              value: (u) => u.role,
              filter: true,
              cell: (u) => (
                <RoleCell
                  email={u.email}
                  role={u.role as Role}
                  onSave={(role) =>
                    confirm.ask({
                      title: `Make ${u.email} ${/^[aeiou]/.test(role) ? "an" : "a"} ${role}?`,
                      body: ROLE_MEANING[role],
                      confirmLabel: `Make ${role}`,
                      tone: role === "admin" ? "danger" : "primary",
                      action: () => setRole.mutate({ id: u.id, role }),
                    })
                  }
                />
              ),
            },
            {
              id: "state",
              header: "State",
              value: (u) => userState(u),
              filter: true,
              cell: (u) => <Badge tone={USER_STATE_TONES[userState(u)]}>{userState(u)}</Badge>,
            },
            {
              id: "actions",
              header: "",
              className: "space-x-2 px-4 py-2 text-right",
              cell: (u) => (
                <>
                  {!u.hasPassword && !u.disabled ? (
                    <Button type="button" variant="secondary" onClick={() => reinvite.mutate({ id: u.id })}>
                      New invitation link
                    </Button>
                  ) : null}
                  {u.id !== me?.id ? (
                    <Button
                      type="button"
                      variant={u.disabled ? "secondary" : "danger"}
                      onClick={() => {
                        if (u.disabled) setDisabled.mutate({ id: u.id, disabled: false });
                        else
                          confirm.ask({
                            title: `Disable ${u.email}?`,
                            body: "They are signed out at once and their API tokens stop working, until an admin enables them again.",
                            confirmLabel: "Disable user",
                            action: () => setDisabled.mutate({ id: u.id, disabled: true }),
                          });
                      }}
                    >
                      {u.disabled ? "Enable" : "Disable"}
                    </Button>
                  ) : null}
                </>
              ),
            },
          ]}
        />
      </Card>
    </div>
  );
}

type Role = (typeof ROLES)[number];

const userState = (u: { disabled: boolean; hasPassword: boolean }) => (u.disabled ? "disabled" : u.hasPassword ? "active" : "invited");
const USER_STATE_TONES = { disabled: "danger", active: "success", invited: "warning" } as const;

const ROLE_MEANING: Record<Role, string> = {
  viewer: "They can read everything and change nothing.",
  operator: "They can plan and apply topologies, manage servers and start operations; not manage users.",
  admin: "They can do everything, including managing users, forcing firewall rules and approving servers for secrets.",
};

/** A user's role: picked, then saved with its own button (and confirmed), never on a mere change of the list. */
function RoleCell({ email, role, onSave }: { email: string; role: Role; onSave: (role: Role) => void }) {
  const [picked, setPicked] = useState<Role>(role);
  return (
    <div className="flex items-center gap-2">
      <Select aria-label={`Role of ${email}`} className="w-32" value={picked} onChange={(e) => setPicked(e.target.value as Role)}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r}
          </option>
        ))}
      </Select>
      {picked !== role ? (
        <Button type="button" variant="secondary" onClick={() => onSave(picked)}>
          Save role
        </Button>
      ) : null}
    </div>
  );
}

"use client";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { KeyRound } from "lucide-react";
import { CreateTokenInput } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { useMe } from "../auth/me";
import { Button } from "../ui/button";
import { DataTable } from "../ui/data-table";
import { Card, CardHeader } from "../ui/card";
import { Field, FormError, Input, Select } from "../ui/field";
import { Badge } from "../ui/badge";
import { ShownOnce } from "../ui/shown-once";
import { EmptyState } from "../ui/empty-state";
import { applyServerErrors, formLevelError } from "../auth/server-errors";
import { formatTime } from "../runs/time";
import { useConfirm } from "../ui/use-confirm";

type Values = z.input<typeof CreateTokenInput>;
const SCOPES_FOR_ROLE = { viewer: ["read"], operator: ["read", "operate"], admin: ["read", "operate", "admin"] } as const;

export function TokensPanel() {
  const trpc = useTRPC();
  const me = useMe();
  const queryClient = useQueryClient();
  const [all, setAll] = useState(false);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const tokens = useQuery(trpc.tokens.list.queryOptions({ all }));
  type TokenRow = NonNullable<typeof tokens.data>[number];
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() });
  const form = useForm<Values>({ resolver: zodResolver(CreateTokenInput), defaultValues: { name: "", scope: "read", expiresInDays: 30 } });
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (t) => {
        setCreated({ name: t.name, token: t.token });
        form.reset();
        void refresh();
      },
      onError: (e) => applyServerErrors(e, form.setError, ["name", "scope", "expiresInDays"]),
    }),
  );
  const revoke = useMutation(trpc.tokens.revoke.mutationOptions({ onSuccess: () => void refresh() }));
  const confirm = useConfirm();
  const errors = form.formState.errors;
  const scopes = me ? SCOPES_FOR_ROLE[me.role] : ["read"];

  return (
    <div className="space-y-6">
      {confirm.dialog}
      <Card>
        <CardHeader title="Create an API token" description="For scripts: send it as Authorization: Bearer … to /api/v1 or /api/trpc. It is shown once." />
        <form onSubmit={form.handleSubmit((v) => create.mutate(CreateTokenInput.parse(v)))} className="grid grid-cols-1 items-start gap-4 p-4 md:grid-cols-4" noValidate>
          <div className="md:col-span-4">
            <FormError message={formLevelError(create.error)} />
          </div>
          <Field label="Name" htmlFor="token-name" error={errors.name?.message} hint="What the token is for, e.g. nightly backup script.">
            <Input id="token-name" aria-invalid={!!errors.name} {...form.register("name")} />
          </Field>
          <Field label="Scope" htmlFor="token-scope" error={errors.scope?.message} hint="Never more than your own role allows.">
            <Select id="token-scope" {...form.register("scope")}>
              {scopes.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </Select>
          </Field>
          <Field label="Expires in" htmlFor="token-expiry" error={errors.expiresInDays?.message}>
            <Select id="token-expiry" {...form.register("expiresInDays", { valueAsNumber: true })}>
              {[7, 30, 90, 365].map((d) => (
                <option key={d} value={d}>
                  {d} days
                </option>
              ))}
            </Select>
          </Field>
          <div className="pt-6">
            <Button type="submit" disabled={create.isPending}>
              <KeyRound size={16} aria-hidden /> {create.isPending ? "Creating…" : "Create token"}
            </Button>
          </div>
        </form>
        {created ? (
          <ShownOnce title={`Copy the token “${created.name}” now: Rampart keeps only a hash and cannot show it again.`} value={created.token} testId="new-token" onDone={() => setCreated(null)} />
        ) : null}
      </Card>

      <Card>
        <CardHeader
          title="Tokens"
          actions={
            me?.role === "admin" ? (
              <label className="flex items-center gap-2 text-xs text-slate-600">
                <input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Everyone’s tokens
              </label>
            ) : null
          }
        />
        {tokens.data && tokens.data.length === 0 ? (
          <div className="p-4">
            <EmptyState title="No API tokens">Tokens you create appear here with their scope, expiry and last use, and can be revoked at any time.</EmptyState>
          </div>
        ) : (
          <DataTable
            framed={false}
            label="API tokens"
            rowTestId="token-row"
            rows={tokens.data ?? []}
            columns={[
              { id: "name", header: "Name", value: (t) => t.name, cell: (t) => <span className="font-medium">{t.name}</span> },
              { id: "token", header: "Token", value: (t) => t.prefix, className: "px-4 py-2 font-mono text-xs text-slate-500", cell: (t) => `${t.prefix}…` },
              { id: "scope", header: "Scope", value: (t) => t.scope, filter: true, cell: (t) => <Badge>{t.scope}</Badge> },
              ...(all ? [{ id: "owner", header: "Owner", value: (t: TokenRow) => t.owner ?? "", filter: true, className: "px-4 py-2 text-slate-600", cell: (t: TokenRow) => t.owner }] : []),
              { id: "expires", header: "Expires", value: (t) => new Date(t.expiresAt).getTime(), className: "px-4 py-2 text-slate-600", cell: (t) => formatTime(t.expiresAt) },
              { id: "used", header: "Last used", value: (t) => (t.lastUsedAt ? new Date(t.lastUsedAt).getTime() : null), className: "px-4 py-2 text-slate-600", cell: (t) => formatTime(t.lastUsedAt) },
              {
                id: "state",
                header: "",
                className: "px-4 py-2 text-right",
                cell: (t) =>
                  t.revokedAt ? (
                    <Badge tone="danger">revoked</Badge>
                  ) : new Date(t.expiresAt) <= new Date() ? (
                    <Badge tone="warning">expired</Badge>
                  ) : (
                    <Button
                      type="button"
                      variant="secondary"
                      onClick={() => {
                        confirm.ask({
                          title: `Revoke the token “${t.name}”?`,
                          body: "Scripts using it stop working at once. This cannot be undone.",
                          confirmLabel: "Revoke token",
                          action: () => revoke.mutate({ id: t.id }),
                        });
                      }}
                    >
                      Revoke
                    </Button>
                  ),
              },
            ]}
          />
        )}
      </Card>
    </div>
  );
}

"use client";
// Add or edit a server. Validation messages come from the shared schema, and the
// server's own answers (duplicate name, unknown key) land next to their fields.
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import Link from "next/link";
import { ServerAddress, ServerName, LoginUser, type ServerInput } from "@/server/schemas/servers";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { applyServerErrors, formLevelError } from "../auth/server-errors";

const FormSchema = z.object({
  name: ServerName,
  address: ServerAddress,
  port: z.coerce.number<string | number>({ error: "must be a number" }).int("must be a whole number").min(1, "must be between 1 and 65535").max(65535, "must be between 1 and 65535"),
  user: LoginUser,
  sshKeyId: z.string().min(1, "choose an SSH key"),
  labels: z.string().max(1000),
});
type Values = z.input<typeof FormSchema>;

export type ServerFormInitial = z.output<typeof ServerInput> & { id: string };

export function ServerForm({ initial, onDone }: { initial?: ServerFormInitial; onDone: (id: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.sshKeys.list.queryOptions());
  const form = useForm<Values, unknown, z.output<typeof FormSchema>>({
    resolver: zodResolver(FormSchema),
    defaultValues: initial ? { ...initial, labels: initial.labels.join(", ") } : { name: "", address: "", port: 22, user: "root", sshKeyId: "", labels: "" },
  });
  const fields = ["name", "address", "port", "user", "sshKeyId", "labels"] as const;
  const opts = {
    onSuccess: (s: { id: string }) => {
      void queryClient.invalidateQueries({ queryKey: trpc.servers.list.queryKey() });
      void queryClient.invalidateQueries({ queryKey: trpc.servers.get.queryKey({ id: s.id }) });
      onDone(s.id);
    },
    onError: (e: unknown) => applyServerErrors(e, form.setError, fields),
  };
  const create = useMutation(trpc.servers.create.mutationOptions(opts));
  const update = useMutation(trpc.servers.update.mutationOptions(opts));
  const pending = create.isPending || update.isPending;
  const error = create.error ?? update.error;
  const errors = form.formState.errors;

  const submit = form.handleSubmit((v) => {
    const input = {
      name: v.name,
      address: v.address,
      port: v.port,
      user: v.user,
      sshKeyId: v.sshKeyId,
      labels: v.labels
        .split(",")
        .map((l) => l.trim())
        .filter(Boolean),
    };
    if (initial) update.mutate({ id: initial.id, ...input });
    else create.mutate(input);
  });

  return (
    <form onSubmit={submit} className="grid grid-cols-1 gap-4 md:grid-cols-2" noValidate>
      <div className="md:col-span-2">
        <FormError message={formLevelError(error)} />
      </div>
      <Field label="Name" htmlFor="server-name" error={errors.name?.message} hint="Lower-case, e.g. web1">
        <Input id="server-name" aria-invalid={!!errors.name} {...form.register("name")} />
      </Field>
      <Field label="Address" htmlFor="server-address" error={errors.address?.message} hint="IP address or host name">
        <Input id="server-address" aria-invalid={!!errors.address} {...form.register("address")} />
      </Field>
      <Field label="SSH port" htmlFor="server-port" error={errors.port?.message}>
        <Input id="server-port" inputMode="numeric" aria-invalid={!!errors.port} {...form.register("port")} />
      </Field>
      <Field label="Login user" htmlFor="server-user" error={errors.user?.message} hint="root, or a user with passwordless sudo">
        <Input id="server-user" aria-invalid={!!errors.user} {...form.register("user")} />
      </Field>
      <Field
        label="SSH key"
        htmlFor="server-key"
        error={errors.sshKeyId?.message}
        hint={
          keys.data?.length === 0 ? (
            <Link className="text-sky-700 underline" href="/settings/ssh-keys">
              No keys yet: an admin creates one under Settings → SSH keys
            </Link>
          ) : undefined
        }
      >
        <Select id="server-key" aria-invalid={!!errors.sshKeyId} {...form.register("sshKeyId")}>
          <option value="">Choose a key…</option>
          {keys.data?.map((k) => (
            <option key={k.id} value={k.id}>
              {k.name} ({k.fingerprint.slice(0, 19)}…)
            </option>
          ))}
        </Select>
      </Field>
      <Field label="Labels" htmlFor="server-labels" error={errors.labels?.message} hint="Comma-separated, e.g. eu-west, rack-3">
        <Input id="server-labels" {...form.register("labels")} />
      </Field>
      <div className="md:col-span-2">
        <Button type="submit" disabled={pending}>
          {pending ? "Saving…" : initial ? "Save changes" : "Add server"}
        </Button>
      </div>
    </form>
  );
}

"use client";
import { useState } from "react";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { z } from "zod";
import { KeyRound } from "lucide-react";
import { GenerateKeyInput, ImportKeyInput } from "@/server/schemas/servers";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { Field, FormError, Input } from "../ui/field";
import { EmptyState } from "../ui/empty-state";
import { applyServerErrors, formLevelError } from "../auth/server-errors";
import { useConfirm } from "../ui/use-confirm";

export function SshKeysPanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const keys = useQuery(trpc.sshKeys.list.queryOptions());
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.sshKeys.list.queryKey() });
  const [mode, setMode] = useState<"generate" | "import">("generate");

  const gen = useForm<z.input<typeof GenerateKeyInput>>({ resolver: zodResolver(GenerateKeyInput), defaultValues: { name: "" } });
  const generate = useMutation(
    trpc.sshKeys.generate.mutationOptions({
      onSuccess: () => {
        gen.reset();
        void refresh();
      },
      onError: (e) => applyServerErrors(e, gen.setError, ["name"]),
    }),
  );
  const imp = useForm<z.input<typeof ImportKeyInput>>({ resolver: zodResolver(ImportKeyInput), defaultValues: { name: "", privateKey: "", passphrase: "" } });
  const doImport = useMutation(
    trpc.sshKeys.import.mutationOptions({
      onSuccess: () => {
        imp.reset();
        void refresh();
      },
      onError: (e) => applyServerErrors(e, imp.setError, ["name", "privateKey", "passphrase"]),
    }),
  );
  const del = useMutation(trpc.sshKeys.delete.mutationOptions({ onSuccess: () => void refresh() }));
  const confirm = useConfirm();

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Add an SSH key"
          description="Private keys are encrypted at rest and never leave Rampart: no page or API shows them."
          actions={
            <div className="flex gap-1 text-xs">
              <Button type="button" variant={mode === "generate" ? "primary" : "secondary"} onClick={() => setMode("generate")}>
                Generate
              </Button>
              <Button type="button" variant={mode === "import" ? "primary" : "secondary"} onClick={() => setMode("import")}>
                Import
              </Button>
            </div>
          }
        />
        {mode === "generate" ? (
          <form onSubmit={gen.handleSubmit((v) => generate.mutate(v))} className="flex flex-wrap items-start gap-4 p-4" noValidate>
            <div className="w-72">
              <Field label="Key name" htmlFor="gen-name" error={gen.formState.errors.name?.message} hint="An ed25519 key pair is made for you.">
                <Input id="gen-name" {...gen.register("name")} />
              </Field>
            </div>
            <div className="pt-6">
              <Button type="submit" disabled={generate.isPending}>
                <KeyRound size={16} aria-hidden /> Generate key
              </Button>
            </div>
            <FormError message={formLevelError(generate.error)} />
          </form>
        ) : (
          <form onSubmit={imp.handleSubmit((v) => doImport.mutate({ ...v, passphrase: v.passphrase || undefined }))} className="grid grid-cols-1 gap-4 p-4 md:grid-cols-2" noValidate>
            <Field label="Key name" htmlFor="imp-name" error={imp.formState.errors.name?.message}>
              <Input id="imp-name" {...imp.register("name")} />
            </Field>
            <Field label="Passphrase" htmlFor="imp-passphrase" error={imp.formState.errors.passphrase?.message} hint="Only if the key is encrypted; it is stored encrypted too.">
              <Input id="imp-passphrase" type="password" autoComplete="off" {...imp.register("passphrase")} />
            </Field>
            <div className="md:col-span-2">
              <Field label="Private key" htmlFor="imp-key" error={imp.formState.errors.privateKey?.message} hint="OpenSSH or PEM format.">
                <textarea id="imp-key" className="block h-32 w-full rounded-md border border-slate-300 p-2 font-mono text-xs" autoComplete="off" spellCheck={false} {...imp.register("privateKey")} />
              </Field>
            </div>
            <div>
              <Button type="submit" disabled={doImport.isPending}>
                Import key
              </Button>
            </div>
            <FormError message={formLevelError(doImport.error)} />
          </form>
        )}
      </Card>

      <FormError message={del.error?.message} />
      {confirm.dialog}
      {keys.data && keys.data.length === 0 ? (
        <EmptyState icon={<KeyRound size={32} />} title="No SSH keys">
          Keys you generate or import are listed here with their public half and the one-line command that lets them in on a server.
        </EmptyState>
      ) : null}
      {keys.data?.map((k) => (
        <Card key={k.id} data-testid="ssh-key">
          <CardHeader
            title={k.name}
            description={`${k.type} · ${k.fingerprint} · used by ${k.servers} server(s)${k.hasPassphrase ? " · passphrase-protected" : ""}`}
            actions={
              <Button
                variant="secondary"
                disabled={k.servers > 0 || del.isPending}
                title={k.servers > 0 ? "Used by servers" : undefined}
                onClick={() => {
                  confirm.ask({
                    title: `Delete the key ${k.name}?`,
                    body: "Rampart forgets its private half. This cannot be undone; servers using it must be given another key first.",
                    confirmLabel: "Delete key",
                    action: () => del.mutate({ id: k.id }),
                  });
                }}
              >
                Delete
              </Button>
            }
          />
          <div className="space-y-2 p-4 text-xs">
            <p className="text-slate-600">Public key:</p>
            <code tabIndex={0} data-testid="public-key" className="block overflow-x-auto whitespace-pre rounded bg-slate-50 p-2 font-mono ring-1 ring-slate-200">
              {k.publicKey}
            </code>
            <p className="text-slate-600">To let Rampart in as root, run this on the server:</p>
            <code tabIndex={0} data-testid="install-command" className="block overflow-x-auto whitespace-pre rounded bg-slate-900 p-2 font-mono text-slate-100">
              {k.installCommand}
            </code>
          </div>
        </Card>
      ))}
    </div>
  );
}

"use client";
// "New site": the seed's three-server layout as a template. The operator names the site and
// picks three servers; Rampart creates the topology (firewall and monitoring on every server,
// the site's certificate from the internal CA) and plans it at once, so the next screen is the
// plan to review and apply. Other layouts: New topology.
import { useState } from "react";
import { useRouter } from "next/navigation";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ROLE_LABELS } from "@/server/schemas/topology";
import { SEED_LAYOUT, SeedSiteInput, seedTopology } from "@/server/schemas/templates";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";

type Pick = (typeof SEED_LAYOUT)[number]["pick"];

export function NewSiteForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const servers = useQuery(trpc.servers.list.queryOptions());
  const topologies = useQuery(trpc.topologies.list.queryOptions());
  const [formError, setFormError] = useState<string | null>(null);
  const form = useForm<SeedSiteInput>({ resolver: zodResolver(SeedSiteInput), defaultValues: { name: "", loadBalancer: "", primary: "", replica: "" } });
  const errors = form.formState.errors;

  const plan = useMutation(trpc.topologies.startPlan.mutationOptions());
  const create = useMutation(
    trpc.topologies.create.mutationOptions({
      onSuccess: async (t) => {
        void queryClient.invalidateQueries({ queryKey: trpc.topologies.list.queryKey() });
        // Planned at once: the topology's page opens on the plan being made.
        await plan.mutateAsync({ id: t.id }).catch(() => undefined);
        router.push(`/topology/${t.id}`);
      },
      onError: (e) => {
        // The topology's own rules and answers name members by index: put them on the pick.
        const fieldErrors = (e.data as { fieldErrors?: Record<string, string[]> } | null)?.fieldErrors ?? {};
        let matched = false;
        for (const [name, messages] of Object.entries(fieldErrors)) {
          const m = /^members\.(\d+)/.exec(name);
          const field = name === "name" ? "name" : m ? SEED_LAYOUT[Number(m[1])]?.pick : undefined;
          if (field && messages[0]) {
            form.setError(field, { message: messages[0] });
            matched = true;
          }
        }
        setFormError(matched ? null : e.message);
      },
    }),
  );
  const pending = create.isPending || plan.isPending;

  const elsewhere = new Map<string, string>();
  for (const t of topologies.data ?? []) for (const m of t.members) elsewhere.set(m.serverId, t.name);

  const submit = form.handleSubmit((v) => {
    setFormError(null);
    create.mutate(seedTopology(v));
  });

  const available = servers.data ?? [];
  return (
    <form onSubmit={submit} className="space-y-5" noValidate aria-label="New site">
      <FormError message={formError} />
      {canOperate ? null : <p className="text-sm text-slate-600">Only operators and admins can create sites.</p>}
      <fieldset disabled={!canOperate || pending} className="space-y-5">
        <Field label="Site name" htmlFor="site-name" error={errors.name?.message} hint="The DNS name the site answers to, e.g. www.example.com">
          <Input id="site-name" autoComplete="off" spellCheck={false} aria-invalid={!!errors.name} {...form.register("name")} />
        </Field>
        <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
          {SEED_LAYOUT.map((l) => (
            <Field key={l.pick} label={`${l.label}: ${l.roles.map((r) => ROLE_LABELS[r]).join(", ")}`} htmlFor={`site-${l.pick}`} error={errors[l.pick as Pick]?.message}>
              <Select id={`site-${l.pick}`} aria-invalid={!!errors[l.pick as Pick]} {...form.register(l.pick as Pick)}>
                <option value="">Choose a server…</option>
                {available.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name} ({s.address}){elsewhere.has(s.id) ? ` · in ${elsewhere.get(s.id)}` : ""}
                  </option>
                ))}
              </Select>
            </Field>
          ))}
        </div>
        {available.length < 3 && !servers.isPending ? (
          <p className="text-sm text-amber-800">This template needs three servers; {available.length} registered. Add servers on the Servers page first.</p>
        ) : null}
      </fieldset>
      <ul className="list-disc space-y-1 pl-5 text-sm text-slate-600" data-testid="seed-layout">
        <li>Server 1 balances with HAProxy and passes TLS through: HTTPS ends on the web servers, and every hop behind it is encrypted.</li>
        <li>Servers 2 and 3 each run nginx (HTTPS) and the app; the database is a primary on server 2 and a replica on server 3, replicating over TLS.</li>
        <li>A firewall and the monitoring client on all three; the site&apos;s certificate from Rampart&apos;s internal CA until you upload one or order one with ACME (Certificates).</li>
        <li>Nothing changes on the servers yet: the site is planned, and you apply the plan after reading it.</li>
      </ul>
      <Button type="submit" disabled={!canOperate || pending}>
        {pending ? "Creating…" : "Create the site and plan it"}
      </Button>
    </form>
  );
}

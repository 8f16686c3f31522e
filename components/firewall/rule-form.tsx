"use client";
// Add or change an operator rule. The shared schema validates in the browser; the
// server's answers (a duplicate name, the lockout guard) land under their fields.
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { z } from "zod";
import { FIREWALL_ACTIONS, FIREWALL_DIRECTIONS, FIREWALL_PEERS, FIREWALL_PROTOCOLS, FIREWALL_SCOPES, FirewallRuleInput, type FirewallRuleDto } from "@/server/schemas/firewall";
import { ROLES, ROLE_LABELS } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { applyServerErrors, formLevelError } from "../auth/server-errors";

const FormSchema = z
  .object({
    name: z.string(),
    comment: z.string(),
    enabled: z.boolean(),
    direction: z.enum(FIREWALL_DIRECTIONS),
    action: z.enum(FIREWALL_ACTIONS),
    protocol: z.enum(FIREWALL_PROTOCOLS),
    portFrom: z.string().trim().regex(/^\d+$/, "must be a port number"),
    portTo: z
      .string()
      .trim()
      .regex(/^(\d+)?$/, "must be a port number, or empty for one port"),
    scope: z.enum(FIREWALL_SCOPES),
    scopeValue: z.string(),
    peer: z.enum(FIREWALL_PEERS),
    peerValue: z.string(),
  })
  // The browser's strings become the shared schema's input; its issues keep their field paths.
  .transform((v, ctx) => {
    const r = FirewallRuleInput.safeParse({
      ...v,
      portFrom: Number(v.portFrom),
      portTo: v.portTo ? Number(v.portTo) : null,
      scopeValue: v.scope === "topology" ? null : v.scopeValue || null,
      peerValue: v.peer === "anywhere" || v.peer === "control-plane" ? null : v.peerValue || null,
    });
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    return z.NEVER;
  });
type Values = z.input<typeof FormSchema>;

const PEER_LABELS = { anywhere: "Anywhere", cidr: "An address or network", server: "A server", role: "Servers with a role", "control-plane": "Rampart's control plane" } as const;
const SCOPE_LABELS = { topology: "Every server of the topology", role: "Servers with a role", server: "One server" } as const;

export type ServerChoice = { id: string; name: string };

const toValues = (r?: FirewallRuleDto): Values =>
  r
    ? {
        name: r.name,
        comment: r.comment,
        enabled: r.enabled,
        direction: r.direction,
        action: r.action,
        protocol: r.protocol,
        portFrom: String(r.portFrom),
        portTo: r.portTo === null ? "" : String(r.portTo),
        scope: r.scope,
        scopeValue: r.scopeValue ?? "",
        peer: r.peer,
        peerValue: r.peerValue ?? "",
      }
    : { name: "", comment: "", enabled: true, direction: "in", action: "accept", protocol: "tcp", portFrom: "", portTo: "", scope: "topology", scopeValue: "", peer: "anywhere", peerValue: "" };

export function RuleForm({
  topologyId,
  initial,
  members,
  servers,
  onDone,
}: {
  topologyId: string;
  initial?: FirewallRuleDto;
  /** The topology's servers (a rule can apply to one of them). */
  members: ServerChoice[];
  /** Every server Rampart knows (a rule can name any as its peer). */
  servers: ServerChoice[];
  onDone: () => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const form = useForm<Values, unknown, z.output<typeof FormSchema>>({ resolver: zodResolver(FormSchema), defaultValues: toValues(initial) });
  const fields = ["name", "comment", "enabled", "direction", "action", "protocol", "portFrom", "portTo", "scope", "scopeValue", "peer", "peerValue"] as const;
  const opts = {
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: trpc.firewall.get.queryKey({ id: topologyId }) });
      if (!initial) form.reset(toValues());
      onDone();
    },
    onError: (e: unknown) => applyServerErrors(e, form.setError, fields),
  };
  const add = useMutation(trpc.firewall.addRule.mutationOptions(opts));
  const update = useMutation(trpc.firewall.updateRule.mutationOptions(opts));
  const pending = add.isPending || update.isPending;
  const error = add.error ?? update.error;
  const errors = form.formState.errors;
  const scope = form.watch("scope");
  const peer = form.watch("peer");
  const direction = form.watch("direction");
  const id = (f: string) => `fw-${initial?.id ?? "new"}-${f}`;

  const submit = form.handleSubmit((v) => {
    if (initial) update.mutate({ ruleId: initial.id, ...v });
    else add.mutate({ topologyId, ...v });
  });

  return (
    <form onSubmit={submit} aria-label={initial ? `Edit rule ${initial.name}` : "Add a firewall rule"} className="grid grid-cols-1 gap-4 md:grid-cols-3" noValidate>
      <div className="md:col-span-3">
        <FormError message={formLevelError(error)} />
      </div>
      <Field label="Rule name" htmlFor={id("name")} error={errors.name?.message} hint="e.g. office-https">
        <Input id={id("name")} aria-invalid={!!errors.name} {...form.register("name")} />
      </Field>
      <Field label="Comment" htmlFor={id("comment")} error={errors.comment?.message} hint="Why the rule exists (shown in the rule set)">
        <Input id={id("comment")} aria-invalid={!!errors.comment} {...form.register("comment")} />
      </Field>
      <Field label="Action" htmlFor={id("action")} error={errors.action?.message}>
        <Select id={id("action")} aria-invalid={!!errors.action} {...form.register("action")}>
          <option value="accept">Accept</option>
          <option value="drop">Drop</option>
        </Select>
      </Field>
      <Field label="Direction" htmlFor={id("direction")} error={errors.direction?.message} hint="Outbound rules only add to the default (outbound is allowed)">
        <Select id={id("direction")} {...form.register("direction")}>
          <option value="in">Inbound</option>
          <option value="out">Outbound</option>
        </Select>
      </Field>
      <Field label="Protocol" htmlFor={id("protocol")} error={errors.protocol?.message}>
        <Select id={id("protocol")} {...form.register("protocol")}>
          <option value="tcp">TCP</option>
          <option value="udp">UDP</option>
        </Select>
      </Field>
      <div className="grid grid-cols-2 gap-2">
        <Field label="Port" htmlFor={id("portFrom")} error={errors.portFrom?.message}>
          <Input id={id("portFrom")} inputMode="numeric" aria-invalid={!!errors.portFrom} {...form.register("portFrom")} />
        </Field>
        <Field label="To port" htmlFor={id("portTo")} error={errors.portTo?.message} hint="Optional: a range">
          <Input id={id("portTo")} inputMode="numeric" aria-invalid={!!errors.portTo} {...form.register("portTo")} />
        </Field>
      </div>
      <Field label="Applies to" htmlFor={id("scope")} error={errors.scope?.message}>
        <Select id={id("scope")} {...form.register("scope")}>
          {FIREWALL_SCOPES.map((s) => (
            <option key={s} value={s}>
              {SCOPE_LABELS[s]}
            </option>
          ))}
        </Select>
      </Field>
      {scope === "role" || scope === "server" ? (
        <Field label={scope === "role" ? "Role" : "Server"} htmlFor={id("scopeValue")} error={errors.scopeValue?.message}>
          <Select id={id("scopeValue")} aria-invalid={!!errors.scopeValue} {...form.register("scopeValue")}>
            <option value="">Choose…</option>
            {scope === "role"
              ? ROLES.map((r) => (
                  <option key={r} value={r}>
                    {ROLE_LABELS[r]}
                  </option>
                ))
              : members.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
          </Select>
        </Field>
      ) : (
        <div className="hidden md:block" />
      )}
      <Field label={direction === "in" ? "From" : "To"} htmlFor={id("peer")} error={errors.peer?.message}>
        <Select id={id("peer")} {...form.register("peer")}>
          {FIREWALL_PEERS.map((p) => (
            <option key={p} value={p}>
              {PEER_LABELS[p]}
            </option>
          ))}
        </Select>
      </Field>
      {peer === "cidr" ? (
        <Field label="Address or network" htmlFor={id("peerValue")} error={errors.peerValue?.message} hint="e.g. 203.0.113.0/24 or 2001:db8::/32">
          <Input id={id("peerValue")} aria-invalid={!!errors.peerValue} {...form.register("peerValue")} />
        </Field>
      ) : peer === "role" || peer === "server" ? (
        <Field label={peer === "role" ? "Peer role" : "Peer server"} htmlFor={id("peerValue")} error={errors.peerValue?.message}>
          <Select id={id("peerValue")} aria-invalid={!!errors.peerValue} {...form.register("peerValue")}>
            <option value="">Choose…</option>
            {peer === "role"
              ? ROLES.map((r) => (
                  <option key={r} value={r}>
                    {ROLE_LABELS[r]}
                  </option>
                ))
              : servers.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.name}
                  </option>
                ))}
          </Select>
        </Field>
      ) : null}
      <label className="flex items-center gap-2 self-end pb-1.5 text-sm text-slate-800 md:col-span-3">
        <input type="checkbox" className="h-4 w-4 rounded border-slate-300" {...form.register("enabled")} />
        Enabled
      </label>
      <div className="flex gap-2 md:col-span-3">
        <Button type="submit" disabled={pending}>
          {pending ? "Saving…" : initial ? "Save rule" : "Add rule"}
        </Button>
        {initial ? (
          <Button type="button" variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        ) : null}
      </div>
    </form>
  );
}

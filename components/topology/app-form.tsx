"use client";
// The application the app servers run: Rampart's sample app or a directory already
// on the servers, its start command (run by systemd as an unprivileged user), port,
// health path and environment. Secret values are write-only: the form never has
// them; a stored secret left empty keeps its value (sent as null). Saving changes
// nothing on the servers until the next apply.
import { useMemo, useState } from "react";
import { useFieldArray, useForm, type Resolver } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, Plus, Trash2 } from "lucide-react";
import { AppSpec, type TopologyDto } from "@/server/schemas/topology";
import { useTRPC } from "../trpc";
import { useCan } from "../auth/me";
import { applyServerErrors } from "../auth/server-errors";
import { Button } from "../ui/button";
import { Field, FormError, Input, Select } from "../ui/field";
import { cn } from "../ui/cn";
import { TableScroll } from "../ui/table-scroll";

type AppDto = TopologyDto["app"];
interface EnvRow {
  name: string;
  /** Always "" for a stored secret: its value never reaches the browser. */
  value: string;
  secret: boolean;
}
export interface AppFormValues {
  source: "sample" | "path" | "tarball";
  artifact: string | null;
  path: string;
  startCommand: string;
  port: number;
  healthPath: string;
  env: EnvRow[];
}

export const SECRET_KEPT_PLACEHOLDER = "•••••• (set; leave empty to keep)";
const SAMPLE_START = "/usr/bin/python3 /opt/rampart-app/sample/app.py";

function fromDto(app: AppDto): AppFormValues {
  return {
    source: app.source,
    artifact: app.artifact,
    path: app.path ?? "",
    startCommand: app.startCommand,
    port: app.port,
    healthPath: app.healthPath,
    env: app.env.map((v) => ({ name: v.name, value: v.secret ? "" : (v.value ?? ""), secret: v.secret })),
  };
}

const storedSecretsOf = (app: AppDto) => new Set(app.env.filter((v) => v.secret && v.isSet).map((v) => v.name));

/** What the form sends: no path for the sample app, and null for a secret left empty (keep the stored value). */
function toInput(v: AppFormValues) {
  return {
    source: v.source,
    artifact: v.source === "tarball" ? v.artifact : null,
    path: v.source === "path" ? v.path.trim() || null : null,
    startCommand: v.startCommand,
    port: v.port,
    healthPath: v.healthPath,
    env: (v.env ?? []).map((e) => ({ name: e.name, secret: e.secret, value: e.secret && e.value === "" ? null : e.value })),
  };
}

export function AppForm({ topology }: { topology: Pick<TopologyDto, "id" | "app" | "members"> }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canOperate = useCan("operate");
  const [stored, setStored] = useState(() => storedSecretsOf(topology.app));
  const [formError, setFormError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);

  // AppSpec, plus: a secret left empty must already be stored under that name.
  const resolver = useMemo<Resolver<AppFormValues, unknown, AppSpec>>(() => {
    const schema = AppSpec.superRefine((a, ctx) => {
      a.env.forEach((e, i) => {
        if (e.secret && e.value === null && !stored.has(e.name)) ctx.addIssue({ code: "custom", path: ["env", i, "value"], message: "is a new secret: give its value" });
      });
    });
    const zod = zodResolver(schema);
    return (values, context, options) => zod(toInput(values), context, options as never) as unknown as ReturnType<Resolver<AppFormValues, unknown, AppSpec>>;
  }, [stored]);

  const form = useForm<AppFormValues, unknown, AppSpec>({ resolver, defaultValues: fromDto(topology.app) });
  const env = useFieldArray({ control: form.control, name: "env" });
  const errors = form.formState.errors;
  const source = form.watch("source");
  const rows = form.watch("env") ?? [];

  const artifact = form.watch("artifact");
  const [uploaded, setUploaded] = useState<{ filename: string; size: number } | null>(null);
  const upload = useMutation(
    trpc.topologies.uploadArtifact.mutationOptions({
      onSuccess: (a) => {
        form.setValue("artifact", a.sha256, { shouldDirty: true });
        form.clearErrors("artifact");
        setUploaded({ filename: a.filename, size: a.size });
      },
      onError: (e) => form.setError("artifact", { message: e.message }),
    }),
  );
  const onArchive = async (file: File | undefined) => {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    upload.mutate({ id: topology.id, filename: file.name, contentBase64: btoa(binary) });
  };

  const fieldNames = () => ["source", "artifact", "path", "startCommand", "port", "healthPath", "env", ...rows.flatMap((_, i) => [`env.${i}`, `env.${i}.name`, `env.${i}.value`, `env.${i}.secret`])];
  const save = useMutation(
    trpc.topologies.setApp.mutationOptions({
      onSuccess: (t) => {
        queryClient.setQueryData(trpc.topologies.get.queryKey({ id: t.id }), t);
        void queryClient.invalidateQueries({ queryKey: trpc.topologies.list.queryKey() });
        setStored(storedSecretsOf(t.app));
        form.reset(fromDto(t.app));
        setSaved(true);
      },
      onError: (e) => {
        // The server names fields under "app." (its input is { id, app }).
        const fieldErrors = (e.data as { fieldErrors?: Record<string, string[]> | null } | undefined)?.fieldErrors;
        const mapped = fieldErrors ? { data: { fieldErrors: Object.fromEntries(Object.entries(fieldErrors).map(([k, m]) => [k.replace(/^app\./, ""), m])) } } : e;
        setFormError(applyServerErrors<AppFormValues>(mapped, form.setError, fieldNames()) ? null : e.message);
      },
    }),
  );

  const submit = form.handleSubmit((app) => {
    setFormError(null);
    setSaved(false);
    save.mutate({ id: topology.id, app });
  });

  const appServers = topology.members.filter((m) => m.roles.includes("app"));
  const denied = canOperate ? undefined : "Only operators and admins can change the application";
  const envError = errors.env?.message ?? errors.env?.root?.message;

  return (
    <form onSubmit={submit} noValidate aria-label="Application settings" className="space-y-5">
      {appServers.length === 0 ? (
        <p className="rounded-md bg-slate-50 px-3 py-2 text-sm text-slate-600">
          No server in this topology has the app role yet: the web servers serve a static page. Give a server the app role (Edit) and these settings are what it runs.
        </p>
      ) : null}
      <FormError message={formError} />
      <fieldset disabled={!canOperate} className="space-y-5">
        <div className="grid grid-cols-1 gap-4 md:grid-cols-2">
          <Field label="Source" htmlFor="app-source" error={errors.source?.message} hint="The sample app answers with the name of the host that served it.">
            <Select id="app-source" aria-invalid={!!errors.source} {...form.register("source")}>
              <option value="sample">Sample app</option>
              <option value="path">Directory on the servers</option>
              <option value="tarball">Uploaded archive (.tar.gz)</option>
            </Select>
          </Field>
          {source === "tarball" ? (
            <Field
              label="App archive"
              htmlFor="app-archive"
              error={errors.artifact?.message}
              hint={
                upload.isPending
                  ? "Uploading…"
                  : artifact
                    ? `${uploaded ? `${uploaded.filename}, ${(uploaded.size / 1024).toFixed(0)} KiB, ` : ""}SHA-256 ${artifact.slice(0, 16)}…: unpacked on every app server by the next apply.`
                    : "A .tar.gz of the app (at most 50 MB); its top level becomes the app's directory."
              }
            >
              <Input id="app-archive" type="file" accept=".tar.gz,.tgz,application/gzip" aria-invalid={!!errors.artifact} onChange={(e) => void onArchive(e.target.files?.[0])} />
            </Field>
          ) : null}
          {source === "path" ? (
            <Field label="App directory" htmlFor="app-path" error={errors.path?.message} hint="An absolute path, already present on every app server (Rampart does not copy it).">
              <Input id="app-path" autoComplete="off" spellCheck={false} placeholder="/srv/myapp" className="font-mono" aria-invalid={!!errors.path} {...form.register("path")} />
            </Field>
          ) : null}
          <Field
            label="Start command"
            htmlFor="app-start"
            error={errors.startCommand?.message}
            hint={
              <>
                Run by systemd (no shell) in the app&apos;s directory, as an unprivileged user; it must listen on 127.0.0.1 at the port below.
                {source === "sample" ? (
                  <>
                    {" "}
                    The sample&apos;s: <code className="font-mono">{SAMPLE_START}</code>
                  </>
                ) : null}
              </>
            }
          >
            <Input id="app-start" autoComplete="off" spellCheck={false} className="font-mono" aria-invalid={!!errors.startCommand} {...form.register("startCommand")} />
          </Field>
          <Field label="Port" htmlFor="app-port" error={errors.port?.message} hint="The app's port on loopback (given to it as PORT); 1024 or more.">
            <Input id="app-port" type="number" inputMode="numeric" min={1024} max={65535} aria-invalid={!!errors.port} {...form.register("port", { valueAsNumber: true })} />
          </Field>
          <Field label="Health path" htmlFor="app-health" error={errors.healthPath?.message} hint="Checked by the web servers; must answer 200 when the app is healthy.">
            <Input id="app-health" autoComplete="off" spellCheck={false} className="font-mono" aria-invalid={!!errors.healthPath} {...form.register("healthPath")} />
          </Field>
        </div>

        <fieldset className="space-y-2">
          <legend className="text-sm font-medium text-slate-800">Environment variables</legend>
          <p className="text-xs text-slate-500">
            Written to a root-only file on each app server. Secret values are encrypted in Rampart and never shown again: leave a stored secret empty to keep it. PORT, RAMPART_SERVER and RAMPART_SITE
            are set by Rampart.
          </p>
          {env.fields.length > 0 ? (
            <TableScroll className="rounded-lg border border-slate-200">
              <table className="w-full text-left text-sm" aria-label="Environment variables">
                <thead className="bg-slate-50 text-xs uppercase tracking-wide text-slate-500">
                  <tr>
                    <th className="px-3 py-2 font-medium">Name</th>
                    <th className="px-3 py-2 font-medium">Value</th>
                    <th className="px-3 py-2 text-center font-medium">Secret</th>
                    <th className="px-3 py-2" aria-label="Remove" />
                  </tr>
                </thead>
                <tbody className="divide-y divide-slate-100">
                  {env.fields.map((f, i) => {
                    const row = rows[i];
                    const isSecret = !!row?.secret;
                    const kept = isSecret && stored.has(row?.name ?? "");
                    const e = errors.env?.[i];
                    const nameErr = e?.name?.message;
                    const valueErr = e?.value?.message;
                    const secretErr = e?.secret?.message ?? e?.message;
                    return (
                      <tr
                        key={f.id}
                        data-testid="env-row"
                        data-secret={isSecret ? "true" : "false"}
                        data-set={kept ? "true" : "false"}
                        className={cn((nameErr || valueErr || secretErr) && "bg-rose-50/60")}
                      >
                        <td className="px-3 py-2 align-top">
                          <Input
                            aria-label={`Variable ${i + 1} name`}
                            aria-invalid={!!nameErr}
                            aria-describedby={nameErr ? `env-${i}-name-error` : undefined}
                            autoComplete="off"
                            spellCheck={false}
                            placeholder="DATABASE_URL"
                            className="font-mono"
                            {...form.register(`env.${i}.name`)}
                          />
                          {nameErr ? (
                            <p id={`env-${i}-name-error`} role="alert" className="mt-1 text-xs text-rose-700">
                              {nameErr}
                            </p>
                          ) : null}
                        </td>
                        <td className="px-3 py-2 align-top">
                          <Input
                            aria-label={`Variable ${i + 1} value`}
                            aria-invalid={!!valueErr}
                            aria-describedby={valueErr ? `env-${i}-value-error` : undefined}
                            type={isSecret ? "password" : "text"}
                            autoComplete={isSecret ? "new-password" : "off"}
                            spellCheck={false}
                            placeholder={kept ? SECRET_KEPT_PLACEHOLDER : isSecret ? "secret value" : ""}
                            className="font-mono"
                            {...form.register(`env.${i}.value`)}
                          />
                          {valueErr ? (
                            <p id={`env-${i}-value-error`} role="alert" className="mt-1 text-xs text-rose-700">
                              {valueErr}
                            </p>
                          ) : null}
                        </td>
                        <td className="px-3 py-2 text-center align-top">
                          <input type="checkbox" className="mt-2 h-4 w-4 accent-sky-600" aria-label={`Variable ${i + 1} secret`} {...form.register(`env.${i}.secret`)} />
                          {secretErr ? (
                            <p role="alert" className="mt-1 text-xs text-rose-700">
                              {secretErr}
                            </p>
                          ) : null}
                        </td>
                        <td className="px-3 py-2 text-right align-top">
                          <button
                            type="button"
                            aria-label={`Remove variable ${i + 1}`}
                            title="Remove this variable"
                            onClick={() => env.remove(i)}
                            className="mt-1 rounded p-1 text-slate-500 hover:bg-slate-100 hover:text-rose-600 disabled:cursor-not-allowed"
                          >
                            <Trash2 size={16} aria-hidden />
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableScroll>
          ) : (
            <p className="text-sm text-slate-500">No variables. Add one for each setting the app reads from its environment.</p>
          )}
          {envError ? (
            <p role="alert" className="text-xs text-rose-700">
              {envError}
            </p>
          ) : null}
          <Button type="button" variant="secondary" onClick={() => env.append({ name: "", value: "", secret: false })} disabled={env.fields.length >= 100}>
            <Plus size={16} aria-hidden /> Add variable
          </Button>
        </fieldset>
      </fieldset>

      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" disabled={!canOperate || save.isPending} title={denied}>
          {save.isPending ? "Saving…" : "Save application"}
        </Button>
        {saved && !form.formState.isDirty ? (
          <span role="status" data-testid="app-saved" className="inline-flex items-center gap-1 text-sm text-emerald-700">
            <CheckCircle2 size={16} aria-hidden /> Saved. The app servers run it from the next apply.
          </span>
        ) : (
          <span className="text-xs text-slate-500">Saving changes nothing on the servers: it takes effect with the next apply.</span>
        )}
      </div>
    </form>
  );
}

"use client";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import type { z } from "zod";
import { SetupInput } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input } from "../ui/field";
import { applyServerErrors, formLevelError } from "./server-errors";

type Values = z.input<typeof SetupInput>;

export function SetupForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const form = useForm<Values>({ resolver: zodResolver(SetupInput), defaultValues: { token, email: "", name: "", password: "" } });
  const setup = useMutation(
    trpc.auth.setup.mutationOptions({
      onSuccess: () => window.location.assign("/"),
      onError: (e) => applyServerErrors(e, form.setError, ["token", "email", "name", "password"]),
    }),
  );
  const errors = form.formState.errors;
  return (
    <form onSubmit={form.handleSubmit((v) => setup.mutate(SetupInput.parse(v)))} className="space-y-4" noValidate>
      <div>
        <h1 className="text-lg font-semibold">Create the first admin</h1>
        <p className="mt-1 text-sm text-slate-600">Rampart has no users yet. The admin you create here manages users, SSH keys and settings.</p>
      </div>
      <FormError message={formLevelError(setup.error)} />
      <Field label="Setup link token" htmlFor="token" error={errors.token?.message} hint="Printed by npm start: the part after ?token= in the setup link.">
        <Input id="token" autoComplete="off" aria-invalid={!!errors.token} {...form.register("token")} />
      </Field>
      <Field label="Your name" htmlFor="name" error={errors.name?.message}>
        <Input id="name" autoComplete="name" aria-invalid={!!errors.name} {...form.register("name")} />
      </Field>
      <Field label="Email" htmlFor="email" error={errors.email?.message}>
        <Input id="email" type="email" autoComplete="username" aria-invalid={!!errors.email} {...form.register("email")} />
      </Field>
      <Field label="Password" htmlFor="password" error={errors.password?.message} hint="At least 12 characters.">
        <Input id="password" type="password" autoComplete="new-password" aria-invalid={!!errors.password} {...form.register("password")} />
      </Field>
      <Button type="submit" className="w-full justify-center" disabled={setup.isPending}>
        {setup.isPending ? "Creating…" : "Create admin and sign in"}
      </Button>
    </form>
  );
}

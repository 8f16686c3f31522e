"use client";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import type { z } from "zod";
import { AcceptInviteInput } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input } from "../ui/field";
import { applyServerErrors } from "./server-errors";

type Values = z.input<typeof AcceptInviteInput>;

export function InviteForm({ token }: { token: string }) {
  const trpc = useTRPC();
  const form = useForm<Values>({ resolver: zodResolver(AcceptInviteInput), defaultValues: { token, password: "" } });
  const accept = useMutation(
    trpc.auth.acceptInvite.mutationOptions({
      onSuccess: () => window.location.assign("/"),
      onError: (e) => applyServerErrors(e, form.setError, ["password"]),
    }),
  );
  const errors = form.formState.errors;
  return (
    <form onSubmit={form.handleSubmit((v) => accept.mutate(AcceptInviteInput.parse(v)))} className="space-y-4" noValidate>
      <div>
        <h1 className="text-lg font-semibold">Set your password</h1>
        <p className="mt-1 text-sm text-slate-600">You were invited to Rampart. Choose a password to finish.</p>
      </div>
      <FormError message={accept.error && !accept.error.data?.fieldErrors?.password ? accept.error.message : (errors.token?.message ?? null)} />
      <Field label="Password" htmlFor="password" error={errors.password?.message} hint="At least 12 characters.">
        <Input id="password" type="password" autoComplete="new-password" aria-invalid={!!errors.password} {...form.register("password")} />
      </Field>
      <Button type="submit" className="w-full justify-center" disabled={accept.isPending}>
        {accept.isPending ? "Saving…" : "Set password and sign in"}
      </Button>
    </form>
  );
}

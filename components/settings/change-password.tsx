"use client";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import type { z } from "zod";
import { ChangePasswordInput } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Card, CardHeader } from "../ui/card";
import { Field, FormError, Input } from "../ui/field";
import { applyServerErrors, formLevelError } from "../auth/server-errors";

type Values = z.input<typeof ChangePasswordInput>;

export function ChangePasswordForm() {
  const trpc = useTRPC();
  const form = useForm<Values>({ resolver: zodResolver(ChangePasswordInput), defaultValues: { currentPassword: "", newPassword: "" } });
  const change = useMutation(
    trpc.auth.changePassword.mutationOptions({
      onSuccess: () => form.reset(),
      onError: (e) => applyServerErrors(e, form.setError, ["currentPassword", "newPassword"]),
    }),
  );
  const errors = form.formState.errors;
  return (
    <Card>
      <CardHeader title="Change your password" description="Other browsers signed in as you are signed out." />
      <form onSubmit={form.handleSubmit((v) => change.mutate(v))} className="max-w-md space-y-4 p-4" noValidate>
        <FormError message={formLevelError(change.error)} />
        {change.isSuccess ? (
          <p role="status" className="text-sm text-emerald-700">
            Password changed.
          </p>
        ) : null}
        <Field label="Current password" htmlFor="currentPassword" error={errors.currentPassword?.message}>
          <Input id="currentPassword" type="password" autoComplete="current-password" aria-invalid={!!errors.currentPassword} {...form.register("currentPassword")} />
        </Field>
        <Field label="New password" htmlFor="newPassword" error={errors.newPassword?.message} hint="At least 12 characters.">
          <Input id="newPassword" type="password" autoComplete="new-password" aria-invalid={!!errors.newPassword} {...form.register("newPassword")} />
        </Field>
        <Button type="submit" disabled={change.isPending}>
          {change.isPending ? "Saving…" : "Change password"}
        </Button>
      </form>
    </Card>
  );
}

"use client";
import { useForm } from "react-hook-form";
import { zodResolver } from "@hookform/resolvers/zod";
import { useMutation } from "@tanstack/react-query";
import type { z } from "zod";
import { LoginInput } from "@/server/schemas/auth";
import { useTRPC } from "../trpc";
import { Button } from "../ui/button";
import { Field, FormError, Input } from "../ui/field";

type Values = z.input<typeof LoginInput>;

export function LoginForm({ next }: { next: string }) {
  const trpc = useTRPC();
  const form = useForm<Values>({ resolver: zodResolver(LoginInput), defaultValues: { email: "", password: "" } });
  const login = useMutation(trpc.auth.login.mutationOptions({ onSuccess: () => window.location.assign(next) }));
  const errors = form.formState.errors;
  return (
    <form onSubmit={form.handleSubmit((v) => login.mutate(LoginInput.parse(v)))} className="space-y-4" noValidate>
      <h1 className="text-lg font-semibold">Sign in</h1>
      <FormError message={login.error?.message} />
      <Field label="Email" htmlFor="email" error={errors.email?.message}>
        <Input id="email" type="email" autoComplete="username" aria-invalid={!!errors.email} {...form.register("email")} />
      </Field>
      <Field label="Password" htmlFor="password" error={errors.password?.message}>
        <Input id="password" type="password" autoComplete="current-password" aria-invalid={!!errors.password} {...form.register("password")} />
      </Field>
      <Button type="submit" className="w-full justify-center" disabled={login.isPending}>
        {login.isPending ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}

"use client";
import { signIn } from "next-auth/react";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useState } from "react";

// One generic message for every failure (wrong password, unknown user, disabled, throttled): SEC-1.
const GENERIC_FAILURE = "Sign-in failed. Check your email and password. After several failed attempts, wait a few minutes before trying again.";

export function SignInForm() {
  const router = useRouter();
  const params = useSearchParams();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  // Until React has hydrated, a click would submit the form natively: keep the button disabled.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setPending(true);
    setError(null);
    try {
      const res = await signIn("credentials", { email: form.get("email"), password: form.get("password"), redirect: false });
      if (!res || res.error) {
        setError(GENERIC_FAILURE);
        return;
      }
      const next = params.get("callbackUrl");
      router.replace(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
      router.refresh();
    } catch {
      setError("The server could not be reached. Try again in a moment.");
    } finally {
      setPending(false);
    }
  }

  return (
    <form method="post" onSubmit={onSubmit} className="space-y-4 rounded-lg bg-white p-6 shadow-xl" noValidate>
      <label className="block text-sm">
        <span className="font-medium text-slate-700">Email</span>
        <input name="email" type="email" autoComplete="username" required maxLength={254} className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      <label className="block text-sm">
        <span className="font-medium text-slate-700">Password</span>
        <input name="password" type="password" autoComplete="current-password" required maxLength={1024} className="mt-1 w-full rounded-md border border-slate-300 px-3 py-2" />
      </label>
      {error && (
        <p className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="sign-in-error">
          {error}
        </p>
      )}
      <button type="submit" disabled={pending || !ready} className="w-full rounded-md bg-brand-600 px-3 py-2 text-sm font-semibold text-white hover:bg-brand-700 disabled:opacity-60">
        {pending ? "Signing in…" : "Sign in"}
      </button>
    </form>
  );
}

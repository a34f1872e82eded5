import { redirect } from "next/navigation";
import { Suspense } from "react";
import { getActor } from "@/lib/auth/session";
import { Logo } from "@/components/shell/logo";
import { SignInForm } from "./sign-in-form";

export const dynamic = "force-dynamic";
export const metadata = { title: "Sign in" };

export default async function SignInPage() {
  if (await getActor()) redirect("/");
  return (
    <div className="flex min-h-screen items-center justify-center bg-slate-900 px-4">
      <div className="w-full max-w-sm">
        <h1 className="mb-1 flex justify-center text-2xl font-semibold text-white">
          <Logo size={40} className="gap-3" />
        </h1>
        <p className="mb-6 text-center text-sm text-slate-400">Protection for encrypted vSphere VMs</p>
        <Suspense>
          <SignInForm />
        </Suspense>
        <p className="mt-4 text-center text-xs text-slate-500">Accounts are created by a Backup Administrator. There is no self-registration.</p>
      </div>
    </div>
  );
}

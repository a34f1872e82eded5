import { LockIcon } from "./icons";

const TONES = {
  neutral: "bg-slate-100 text-slate-700 ring-slate-200",
  good: "bg-emerald-50 text-emerald-800 ring-emerald-200",
  warn: "bg-amber-50 text-amber-900 ring-amber-200",
  bad: "bg-red-50 text-red-800 ring-red-200",
  info: "bg-brand-50 text-brand-700 ring-brand-100",
  lock: "bg-violet-50 text-violet-800 ring-violet-200",
} as const;

export function Badge({ tone = "neutral", children, title }: { tone?: keyof typeof TONES; children: React.ReactNode; title?: string }) {
  return (
    <span title={title} className={`inline-flex items-center gap-1 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset ${TONES[tone]}`}>
      {children}
    </span>
  );
}

export function EncryptionBadge({ encrypted, keyProvider }: { encrypted: boolean; keyProvider?: string | null }) {
  return encrypted ? (
    <Badge tone="lock" title={keyProvider ? `VM Encryption with ${keyProvider}` : "VM Encryption"}>
      <LockIcon /> Encrypted
    </Badge>
  ) : (
    <Badge>Not encrypted</Badge>
  );
}

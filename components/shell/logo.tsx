/** The Strongroom mark (a vault door, public/strongroom-logo.svg) with the name beside it. */
export function Logo({ size = 28, className = "" }: { size?: number; className?: string }) {
  return (
    <span className={`inline-flex items-center gap-2 ${className}`} data-testid="logo">
      {/* eslint-disable-next-line @next/next/no-img-element -- a static SVG needs no optimisation */}
      <img src="/strongroom-logo.svg" alt="" width={size} height={size} />
      <span>
        Strong<span className="text-brand-100">room</span>
      </span>
    </span>
  );
}

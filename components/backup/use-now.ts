"use client";
import { useEffect, useState } from "react";

/** The browser's clock, ticking while `running`; null during the server render (no hydration mismatch). */
export function useNow(running: boolean, everyMs = 1_000): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    setNow(Date.now());
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [running, everyMs]);
  return now;
}

import { isAppError } from "./app-error";

/** For pages: run a service and turn its NOT_FOUND (or invalid id) into null, so the page can call notFound(). */
export async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (e) {
    if (isAppError(e) && (e.code === "NOT_FOUND" || e.code === "INVALID_INPUT")) return null;
    throw e;
  }
}

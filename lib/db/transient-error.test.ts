import { PrismaClientKnownRequestError } from "@prisma/client/runtime/client";
import { describe, expect, it } from "vitest";
import { isTransientDbError } from "./transient-error";

const known = (code: string, message = "x") => new PrismaClientKnownRequestError(message, { code, clientVersion: "6" });

describe("isTransientDbError", () => {
  it.each(["P1001", "P1008", "P1017", "P2024", "P2034", "P2037"])("takes Prisma's %s for transient", (code) => {
    expect(isTransientDbError(known(code))).toBe(true);
  });

  it("sees PostgreSQL's 53300 'too many clients' through Prisma's driver-adapter wrapping", () => {
    // What PrismaPg hands on when the server refuses a connection: the adapter's error, with pg's error as its cause.
    const pgError = Object.assign(new Error("sorry, too many clients already"), { code: "53300", severity: "FATAL" });
    const adapter = Object.assign(new Error("DriverAdapterError"), { name: "DriverAdapterError", cause: { kind: "TooManyConnections", cause: pgError.message } });
    expect(isTransientDbError(adapter)).toBe(true);
    expect(isTransientDbError(new Error("wrapped", { cause: pgError }))).toBe(true);
    expect(isTransientDbError(Object.assign(new Error("unknown"), { meta: { driverAdapterError: { cause: { kind: "postgres", originalCode: "57P01" } } } }))).toBe(true);
  });

  it("sees SQLite busy, sockets and pool timeouts", () => {
    expect(isTransientDbError(Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" }))).toBe(true);
    expect(isTransientDbError({ kind: "sqlite", extendedCode: 5, message: "busy" })).toBe(true);
    expect(isTransientDbError({ name: "DriverAdapterError", cause: { kind: "DatabaseNotReachable", host: "127.0.0.1", port: 5432 } })).toBe(true);
    expect(isTransientDbError(new Error("timeout exceeded when trying to connect"))).toBe(true);
    expect(isTransientDbError(new Error("Connection terminated unexpectedly"))).toBe(true);
  });

  it("does not take errors about the query or the data for transient", () => {
    expect(isTransientDbError(known("P2002", "Unique constraint failed"))).toBe(false);
    expect(isTransientDbError(known("P2025", "Record to update not found"))).toBe(false);
    expect(isTransientDbError(Object.assign(new Error("relation does not exist"), { code: "42P01", severity: "ERROR" }))).toBe(false);
    expect(isTransientDbError(new Error("the disk read failed"))).toBe(false);
    // A disk transport's or a KMS's socket error is not the database's.
    expect(isTransientDbError(new Error("disk-2000: connection reset", { cause: Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) }))).toBe(false);
    expect(isTransientDbError(undefined)).toBe(false);
    expect(isTransientDbError("P1001")).toBe(false);
    // A cycle in the cause chain ends the walk.
    const a: { message: string; cause?: unknown } = { message: "a" };
    a.cause = { message: "b", cause: a };
    expect(isTransientDbError(a)).toBe(false);
  });
});

import { describe, expect, it } from "vitest";
import { actionMatch, auditFilterSchema, auditListQuerySchema, parseAuditTime } from "@/lib/schemas/audit";
import { AUDIT_CSV_COLUMNS, auditCsvHeader, auditCsvRecord, csvCell, csvRecord, fileStamp } from "./audit-csv";

/** A strict RFC 4180 reader, written independently of the encoder, to read back what it wrote. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === "") { quoted = true; i++; continue; }
    if (c === '"') throw new Error(`stray quote at ${i}`);
    if (c === ",") { record.push(field); field = ""; i++; continue; }
    if (c === "\r" && text[i + 1] === "\n") { record.push(field); records.push(record); record = []; field = ""; i += 2; continue; }
    if (c === "\n" || c === "\r") throw new Error(`bare line break at ${i}`);
    field += c; i++;
  }
  if (field !== "" || record.length) throw new Error("last record not CRLF-terminated");
  return records;
}

describe("csvCell (RFC 4180)", () => {
  it.each([
    ["plain", "plain"],
    ["", ""],
    ["a,b", '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ["line\nbreak", '"line\nbreak"'],
    ["cr\rlf", '"cr\rlf"'],
    ['{"a":1,"b":"x"}', '"{""a"":1,""b"":""x""}"'],
    ["  spaces kept  ", "  spaces kept  "],
    ["ünïcødé ✓", "ünïcødé ✓"],
  ])("%j → %s", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("writes null and undefined as empty cells, numbers as they are", () => {
    expect(csvCell(null)).toBe("");
    expect(csvCell(undefined)).toBe("");
    expect(csvCell(42)).toBe("42");
    expect(csvCell(-1)).toBe("-1");
  });
});

describe("csvCell formula-injection guard", () => {
  it.each([
    ["=1+1", "'=1+1"],
    ["+1-1@x.test", "'+1-1@x.test"],
    ["-2+3", "'-2+3"],
    ["@SUM(A1:A2)", "'@SUM(A1:A2)"],
    ["\tstarts with a tab", "'\tstarts with a tab"],
    ["\rstarts with CR", "\"'\rstarts with CR\""],
    ['=HYPERLINK("http://evil.test","click")', '"\'=HYPERLINK(""http://evil.test"",""click"")"'],
    ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
  ])("%j → %s", (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it("leaves a formula character that is not first alone", () => {
    expect(csvCell("a=b")).toBe("a=b");
    expect(csvCell("alice+tag@x.test")).toBe("alice+tag@x.test");
    expect(csvCell("'already quoted")).toBe("'already quoted");
  });

  it("no cell of a hostile record starts with a formula character once read back", () => {
    const hostile = ["=1+1", "+A1", "-A1", "@A1", "\t=A1", "\r=A1", 'x,"=A1"', "=A1\r\n=B1"];
    const [read] = parseCsv(csvRecord(hostile));
    expect(read).toHaveLength(hostile.length);
    for (const [i, cell] of read.entries()) {
      expect(cell).not.toMatch(/^[=+\-@\t\r]/);
      expect(cell.replace(/^'/, "")).toBe(hostile[i]);
    }
  });
});

describe("audit CSV records", () => {
  const row = {
    seq: 7,
    at: new Date("2025-03-01T10:15:00.123Z"),
    actorEmail: "=evil@x.test",
    actorId: null,
    action: "auth.sign-in",
    objectType: null,
    objectId: null,
    outcome: "failure",
    sourceIp: "10.0.0.1",
    details: '{"reason":"wrong password","note":"a, b\\nc"}',
    hash: "a".repeat(64),
    prevHash: "0".repeat(64),
  };

  it("has the header line the export promises", () => {
    expect(auditCsvHeader()).toBe("seq,at,actor,action,objectType,objectId,outcome,sourceIp,details,hash,prevHash\r\n");
    expect(AUDIT_CSV_COLUMNS).toHaveLength(11);
  });

  it("writes one record per event that reads back to the event's fields", () => {
    const text = auditCsvHeader() + auditCsvRecord(row) + auditCsvRecord({ ...row, seq: 8, actorEmail: null, actorId: "user-1", objectType: "user", objectId: "u1", details: "{}" });
    const [header, first, second] = parseCsv(text);
    expect(header).toEqual([...AUDIT_CSV_COLUMNS]);
    expect(first).toEqual(["7", "2025-03-01T10:15:00.123Z", "'=evil@x.test", "auth.sign-in", "", "", "failure", "10.0.0.1", row.details, row.hash, row.prevHash]);
    expect(second.slice(0, 6)).toEqual(["8", "2025-03-01T10:15:00.123Z", "user-1", "auth.sign-in", "user", "u1"]);
    expect(JSON.parse(first[8])).toEqual({ reason: "wrong password", note: "a, b\nc" });
  });

  it("stamps file names without characters a file system may refuse", () => {
    expect(fileStamp(new Date("2025-03-01T10:15:07.123Z"))).toBe("20250301T101507Z");
  });
});

describe("audit filter schema", () => {
  it("reads times with a zone, without one (as UTC), and to the precision given", () => {
    expect(parseAuditTime("2025-03-01")).toEqual({ start: new Date("2025-03-01T00:00:00Z"), end: new Date("2025-03-02T00:00:00Z") });
    expect(parseAuditTime("2025-03-01T10:15")).toEqual({ start: new Date("2025-03-01T10:15:00Z"), end: new Date("2025-03-01T10:16:00Z") });
    expect(parseAuditTime("2025-03-01T10:15:30")).toEqual({ start: new Date("2025-03-01T10:15:30Z"), end: new Date("2025-03-01T10:15:31Z") });
    expect(parseAuditTime("2025-03-01T10:15:30.250Z")!.start).toEqual(new Date("2025-03-01T10:15:30.250Z"));
    expect(parseAuditTime("2025-03-01T12:15+02:00")!.start).toEqual(new Date("2025-03-01T10:15:00Z"));
    expect(parseAuditTime("2025-03-01T05:15-05:00")!.start).toEqual(new Date("2025-03-01T10:15:00Z"));
  });

  it.each(["", "yesterday", "2025-02-30", "2025-13-01", "2025-03-01T24:00", "2025-03-01T10:60", "2025-03-01T10:15+25:00", "1741000000"])("refuses %j", (v) => {
    expect(parseAuditTime(v)).toBeNull();
  });

  it("refuses From after To, on To, with a message saying so", () => {
    const r = auditFilterSchema.safeParse({ from: "2025-03-02", to: "2025-03-01T23:59" });
    expect(r.success).toBe(false);
    expect(r.error!.issues).toEqual([expect.objectContaining({ path: ["to"], message: "To is before From: pick a To at or after From" })]);
    expect(auditFilterSchema.safeParse({ from: "2025-03-01T10:00", to: "2025-03-01T10:00" }).success).toBe(true);
  });

  it("lower-cases the action and reads prefixes", () => {
    expect(auditFilterSchema.parse({ action: "JOB.*" }).action).toBe("job.*");
    expect(actionMatch("job.*")).toEqual({ prefix: "job." });
    expect(actionMatch("job.")).toEqual({ prefix: "job." });
    expect(actionMatch("job.create")).toEqual({ exact: "job.create" });
  });

  it("treats empty values as no filter and defaults the page size to 50", () => {
    expect(auditListQuerySchema.parse({ user: " ", action: "", outcome: "", from: "", to: "" })).toEqual({ pageSize: 50 });
  });
});

// An in-memory fake KMS for unit tests of the client and connection: no
// sockets, no TLS. Each `connector()` call creates a Duplex pair; the server
// side frames requests with TtlvFramer and answers through a handler.

import { Duplex } from "node:stream";
import type { Connector } from "../connection";
import { Operation, ResultStatus } from "../enums";
import { TtlvFramer } from "../framer";
import { find } from "../items";
import { buildResponse, parseRequest, type ParsedRequest, type ProtocolVersion } from "../messages";
import { Tag } from "../tags";
import { decodeTtlv, encodeTtlv, type TtlvItem } from "../ttlv";

export type FakeAction =
  | { reply: TtlvItem | Buffer; chunkSize?: number; delayMs?: number }
  | { silent: true } // never answer
  | { drop: true }; // close the connection without answering

export type FakeHandler = (req: ParsedRequest, ctx: { connection: number; index: number }) => FakeAction | undefined;

/** Two connected in-memory streams. */
export function duplexPair(): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        const o = other();
        if (!o.destroyed) o.push(chunk);
        cb();
      },
      final(cb) {
        other().push(null);
        cb();
      },
      destroy(err, cb) {
        const o = other();
        if (!o.destroyed) o.push(null);
        cb(err);
      },
    });
  sides.push(make(() => sides[1]), make(() => sides[0]));
  return [sides[0], sides[1]];
}

/** A successful answer echoing the request's operation with `payload`. */
export function ok(req: ParsedRequest, payload: TtlvItem[] = []): TtlvItem {
  return buildResponse({ version: req.version, operation: req.batchItems[0].operation, resultStatus: ResultStatus.Success, payload });
}

export class FakeKms {
  connects = 0;
  readonly requests: ParsedRequest[] = [];
  /** Requests received but not yet answered (to prove serialization). */
  inFlight = 0;
  maxInFlight = 0;
  readonly serverSides: Duplex[] = [];

  constructor(
    private readonly handler: FakeHandler,
    private readonly offered: ProtocolVersion[] = [{ major: 1, minor: 4 }, { major: 1, minor: 2 }],
  ) {}

  readonly connector: Connector = async () => {
    const [client, server] = duplexPair();
    const connection = ++this.connects;
    this.serverSides.push(server);
    const framer = new TtlvFramer();
    server.on("data", (chunk: Buffer) => {
      for (const raw of framer.push(chunk)) this.onRequest(server, raw, connection);
    });
    server.on("error", () => undefined);
    server.on("end", () => server.end()); // the client closed: close our side too, as a TLS server does
    return client;
  };

  /** Close the server side of the latest connection (as a KMS dropping an idle client). */
  hangUp(): void {
    this.serverSides[this.serverSides.length - 1]?.end();
  }

  private onRequest(server: Duplex, raw: Buffer, connection: number): void {
    const req = parseRequest(decodeTtlv(raw));
    const index = this.requests.push(req) - 1;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const action = this.handler(req, { connection, index }) ?? this.defaultAction(req);
    if ("silent" in action) return;
    if ("drop" in action) {
      this.inFlight--;
      server.destroy();
      return;
    }
    const bytes = Buffer.isBuffer(action.reply) ? action.reply : encodeTtlv(action.reply);
    const send = () => {
      this.inFlight--;
      const size = action.chunkSize ?? bytes.length;
      for (let i = 0; i < bytes.length; i += size) server.write(bytes.subarray(i, i + size));
    };
    if (action.delayMs) setTimeout(send, action.delayMs);
    else send();
  }

  private defaultAction(req: ParsedRequest): FakeAction {
    const { operation, payload } = req.batchItems[0];
    if (operation === Operation.DiscoverVersions) {
      const asked = (payload.type === "Structure" ? payload.value : []).map((v) => {
        const s = v as { value: { value: number }[] };
        return { major: s.value[0].value, minor: s.value[1].value };
      });
      const answer = asked.length ? asked.filter((a) => this.offered.some((o) => o.major === a.major && o.minor === a.minor)) : this.offered;
      return {
        reply: ok(
          req,
          answer.map((v) => ({
            tag: Tag.ProtocolVersion,
            type: "Structure" as const,
            value: [
              { tag: Tag.ProtocolVersionMajor, type: "Integer" as const, value: v.major },
              { tag: Tag.ProtocolVersionMinor, type: "Integer" as const, value: v.minor },
            ],
          })),
        ),
      };
    }
    if (operation === Operation.Create) {
      return {
        reply: ok(req, [
          { tag: Tag.ObjectType, type: "Enumeration", value: 2 },
          { tag: Tag.UniqueIdentifier, type: "TextString", value: String(this.requests.length) },
        ]),
      };
    }
    const uid = find(payload, Tag.UniqueIdentifier);
    return { reply: ok(req, uid ? [uid] : [{ tag: Tag.UniqueIdentifier, type: "TextString", value: "1" }]) };
  }
}

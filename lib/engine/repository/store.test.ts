// The store contract on the in-memory twin and on the fault twin with no faults armed. The
// filesystem store runs the same suite in filesystem-store.int.test.ts.
import { describeStoreContract } from "../testing/store-contract";
import { FaultyStore } from "./faulty-store";
import { MemoryStore } from "./memory-store";

describeStoreContract("MemoryStore", async () => ({ store: new MemoryStore() }));
describeStoreContract("FaultyStore(MemoryStore) without faults", async () => ({ store: new FaultyStore(new MemoryStore()) }));

// Zod 4 probes `new Function("")` to decide whether to compile fast parsers; under the console's
// CSP (no 'unsafe-eval', lib/http/security-headers.ts) that probe is a reported violation in every
// browser. Jitless parsing never evals. Imported by the shared schemas and the client providers.
import { z } from "zod";

z.config({ jitless: true });

// Mints a user token for development: `npm run token -- --sub alice --email a@example.com [--guest] [--ttl 3600]`.
// Signed with AUTH_SECRET (and AUTH_ISSUER/AUTH_AUDIENCE when set), like the gateway's own guest tokens.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";

const { values } = parseArgs({
  options: {
    sub: { type: "string" },
    email: { type: "string" },
    guest: { type: "boolean", default: false },
    ttl: { type: "string", default: "86400" },
  },
});

const token = await signUserToken(
  parseEnv(),
  { id: values.sub ?? randomUUID(), type: values.guest ? "guest" : "regular", email: values.email ?? null },
  Number(values.ttl),
);
console.log(token);

// Mints a user token for development: `npm run -s token -- --sub alice --email a@example.com [--guest] [--ttl 3600]`.
// Signed with AUTH_SECRET (and AUTH_ISSUER/AUTH_AUDIENCE when set), like the gateway's own guest tokens.
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";

const USAGE = `Mints a user token signed with AUTH_SECRET (and AUTH_ISSUER/AUTH_AUDIENCE when set).

  npm run -s token -- [--sub <id>] [--email <address>] [--guest] [--ttl <seconds>]

  --sub    the user id (default: a new UUID)
  --email  the user's email (default: none)
  --guest  a guest token (default: a regular user)
  --ttl    lifetime in seconds (default: 86400)

-s keeps npm's banner out of TOKEN=$(npm run -s token -- --sub alice).`;

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      sub: { type: "string" },
      email: { type: "string" },
      guest: { type: "boolean", default: false },
      ttl: { type: "string", default: "86400" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const env = parseEnv();
const ttl = Number(values.ttl);
// The gateway refuses a token that lives longer than MAX_TOKEN_LIFETIME_SECONDS.
if (!Number.isInteger(ttl) || ttl < 1 || ttl > env.MAX_TOKEN_LIFETIME_SECONDS) {
  console.error(
    `--ttl must be a whole number of seconds from 1 to ${env.MAX_TOKEN_LIFETIME_SECONDS} (MAX_TOKEN_LIFETIME_SECONDS), not ${JSON.stringify(values.ttl)}.\n\n${USAGE}`,
  );
  process.exit(2);
}
const token = await signUserToken(
  env,
  { id: values.sub ?? randomUUID(), type: values.guest ? "guest" : "regular", email: values.email ?? null },
  ttl,
);
console.log(token);

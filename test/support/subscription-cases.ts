// Subscription fields for the tests of the SSE plugins: a plain stream, one
// that throws, one whose event fails to resolve, and one refused before its
// first event, with secrets in their errors that must never reach a client.
import { GraphQLError } from "graphql";

export const subscriptionCaseFields = "count(to: Int!): Int, failAfterOne: Int, brokenEvent: Int, refused: Int";

export const subscriptionCases = {
  count: {
    subscribe: async function* (_: unknown, { to }: { to: number }) {
      for (let i = 1; i <= to; i++) yield { count: i };
    },
  },
  failAfterOne: {
    subscribe: async function* () {
      yield { failAfterOne: 1 };
      throw new Error("secret detail at /srv/app.ts:12");
    },
  },
  brokenEvent: {
    subscribe: async function* () {
      yield { n: 1 };
    },
    resolve: () => {
      throw new Error("secret resolver detail");
    },
  },
  refused: {
    subscribe: () => {
      throw new GraphQLError("Not yours.", { extensions: { code: "forbidden:chat" } });
    },
  },
};

import { randomUUID } from "node:crypto";
import { guestTokensAccepted, signUserToken } from "../auth/user-token.ts";
import { ChatSDKError } from "../errors.ts";
import { ensureUser } from "../db/users.ts";
import type { User } from "../generated/prisma/client.ts";
import { messagesLeftToday } from "../quota.ts";
import { builder } from "./builder.ts";
import { currentUser } from "./context.ts";
import { UserTypeEnum } from "./enums.ts";

export const UserRef = builder.objectRef<User>("User").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    email: t.exposeString("email", { nullable: true }),
    type: t.expose("type", { type: UserTypeEnum }),
    messagesLeftToday: t.int({
      description: "User messages the caller may still send in the rolling 24 hours.",
      resolve: (user, _args, ctx) => messagesLeftToday(ctx.db.prisma, ctx.env, user),
    }),
  }),
});

const SessionRef = builder.objectRef<{ token: string; user: User }>("Session").implement({
  fields: (t) => ({
    token: t.exposeString("token", { description: "Send as `Authorization: Bearer <token>`." }),
    user: t.field({ type: UserRef, resolve: (session) => session.user }),
  }),
});

builder.queryField("me", (t) => t.field({ type: UserRef, resolve: (_root, _args, ctx) => currentUser(ctx) }));

builder.mutationField("createGuestSession", (t) =>
  t.field({
    type: SessionRef,
    description: "Signs in as a new guest user (no token needed), as the Chat SDK's guest login does.",
    skipTypeScopes: true,
    resolve: async (_root, _args, ctx) => {
      if (!guestTokensAccepted(ctx.env)) {
        throw new ChatSDKError("bad_request:api", "Guest sessions need AUTH_SECRET to be set when AUTH_JWKS_URL is.");
      }
      const waitMs = await ctx.services.guestSessions.take(ctx.clientAddress);
      if (waitMs > 0) {
        throw new ChatSDKError("rate_limit:chat", "Too many guest sessions from this address; try again later.", {
          reason: "too_many_guest_sessions",
          retryable: true,
          retryAfterSeconds: Math.ceil(waitMs / 1000),
        });
      }
      const identity = { id: randomUUID(), type: "guest" as const, email: null };
      const user = await ensureUser(ctx.db.sql, identity);
      const token = await signUserToken(ctx.env, identity, ctx.env.GUEST_TOKEN_TTL_SECONDS);
      return { token, user };
    },
  }),
);

import SchemaBuilder from "@pothos/core";
import DataloaderPlugin from "@pothos/plugin-dataloader";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin, { AuthScopeFailureType, type AuthFailure } from "@pothos/plugin-scope-auth";
import ValidationPlugin from "@pothos/plugin-validation";
import { ChatSDKError } from "../errors.ts";
import type { Context } from "./context.ts";
import { invalidInput } from "./validation.ts";

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { signedIn: boolean };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: { list: false; items: true };
  DefaultNodeNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string };
  };
}>({
  plugins: [ScopeAuthPlugin, ValidationPlugin, RelayPlugin, DataloaderPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authScopes: (ctx) => ({ signedIn: ctx.user !== null }),
    // A subscription's scopes are checked once, when it starts (a refusal is
    // its error before any event), not again for every event of the turn.
    authorizeOnSubscribe: true,
    unauthorizedError: (_parent, ctx, _info, result) =>
      missedSignedIn(result.failure)
        ? (ctx.authError ?? new ChatSDKError("unauthorized:chat"))
        : new ChatSDKError("forbidden:chat"),
  },
  validation: {
    validationError: (result) => invalidInput(result.issues),
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodeQueryOptions: false,
    nodesQueryOptions: false,
    edgesFieldOptions: { nullable: { list: false, items: true } },
    nodeFieldOptions: { nullable: false },
  },
});

function missedSignedIn(failure: AuthFailure): boolean {
  if (failure.kind === AuthScopeFailureType.AuthScope) return failure.scope === "signedIn";
  if (failure.kind === AuthScopeFailureType.AnyAuthScopes || failure.kind === AuthScopeFailureType.AllAuthScopes) {
    return failure.failures.some(missedSignedIn);
  }
  return false;
}

builder.queryType({ authScopes: { signedIn: true } });
builder.mutationType({ authScopes: { signedIn: true } });
builder.subscriptionType({ authScopes: { signedIn: true } });

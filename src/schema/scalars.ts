import { GraphQLError, GraphQLScalarType } from "graphql";
import { DateTimeResolver, JSONResolver } from "graphql-scalars";
import { builder } from "./builder.ts";

builder.addScalarType("DateTime", DateTimeResolver);

/**
 * graphql-scalars' JSON, refusing objects with a `__proto__` key: code that
 * copies such an object by assignment sets its prototype instead (the key was
 * silently lost from a stored data part), and no AI SDK part needs one.
 */
const JSONWithoutProtoKeys = new GraphQLScalarType({
  ...JSONResolver.toConfig(),
  parseValue: (value) => withoutProtoKeys(JSONResolver.parseValue(value)),
  parseLiteral: (ast, variables) => withoutProtoKeys(JSONResolver.parseLiteral(ast, variables)),
});

builder.addScalarType("JSON", JSONWithoutProtoKeys);

/** `value`, or a refusal when an object in it has a `__proto__` key; walks with a stack of its own (any depth). */
function withoutProtoKeys<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item !== "object" || item === null) continue;
    if (!Array.isArray(item) && Object.hasOwn(item, "__proto__")) {
      throw new GraphQLError('a key named "__proto__" is not accepted in JSON values');
    }
    for (const key in item) pending.push((item as Record<string, unknown>)[key]);
  }
  return value;
}

import { createSourceEventStream, type DocumentNode, type ExecutionArgs, type ExecutionResult } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";
import type { Plugin } from "graphql-yoga";
import { log } from "../log.ts";

/**
 * Executes each event of a subscription with the operation compiled by
 * graphql-jit. A turn sends one event per delta, and compiled execution
 * costs a turn less CPU than graphql-tools' executor (BENCHMARKS.md, "What was tried").
 *
 * The source stream (the field's arguments, the resolver's refusals) stays
 * with graphql-js. @envelop/graphql-jit hands subscribe resolvers the
 * variables instead of the field's arguments, and executes each event with
 * variables already coerced, coercing them again (an enum's internal value
 * then fails); here each event is executed with the request's own variables.
 */
export function useJitStreamEvents(): Plugin {
  // Per parsed document (Yoga's parse cache hands the same object back for
  // the same text): "once" until its second use, since compiling costs more
  // than a few executions and a one-off document (literal arguments) would pay it for nothing;
  // null when the compiler cannot take it.
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | "once" | null>>();

  function compiledFor(args: ExecutionArgs): CompiledQuery | null {
    let operations = compiled.get(args.document);
    if (!operations) compiled.set(args.document, (operations = new Map()));
    const name = args.operationName ?? "";
    const entry = operations.get(name);
    if (entry === undefined) {
      operations.set(name, "once");
      return null;
    }
    if (entry !== "once") return entry;
    let operation: CompiledQuery | null = null;
    try {
      const result = compileQuery(args.schema, args.document, args.operationName ?? undefined);
      if (isCompiledQuery(result)) operation = result;
    } catch (error) {
      log.warn("stream events run uncompiled: graphql-jit refused the operation", { error });
    }
    operations.set(name, operation);
    return operation;
  }

  return {
    onSubscribe({ args, setSubscribeFn }) {
      const operation = compiledFor(args as ExecutionArgs);
      if (!operation) return;
      setSubscribeFn(async (subscribeArgs) => {
        const source = await createSourceEventStream(subscribeArgs as ExecutionArgs);
        if (!(Symbol.asyncIterator in source)) return source;
        return eventResults(source, operation, subscribeArgs as ExecutionArgs);
      });
    },
  };
}

async function* eventResults(
  source: AsyncIterable<unknown>,
  operation: CompiledQuery,
  args: ExecutionArgs,
): AsyncGenerator<ExecutionResult> {
  for await (const event of source) {
    yield await operation.query(event, args.contextValue, args.variableValues);
  }
}
